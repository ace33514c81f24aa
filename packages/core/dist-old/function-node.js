export {}
//# sourceMappingURL=function-node.js.map
