export {}
//# sourceMappingURL=run-record.js.map
