export {
  connectMCPServer,
  type MCPHttpServerOptions,
  MCPServerConnection,
  type MCPServerOptions,
  type MCPStdioServerOptions,
  type MCPToolsOptions,
} from './connect-mcp-server.js'
export { MCPConnectionError, MCPToolError } from './mcp-errors.js'
export { MCPTool, type MCPToolInfo } from './mcp-tool.js'
