export {}
//# sourceMappingURL=standard-schema.js.map
