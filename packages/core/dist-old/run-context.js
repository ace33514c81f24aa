export {}
//# sourceMappingURL=run-context.js.map
