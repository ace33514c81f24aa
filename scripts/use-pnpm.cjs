// The root's preinstall: this repository is a pnpm workspace, so any other package manager stops here, at once, with
// the command to run instead. Plain CommonJS with no dependencies, for whatever Node runs it; needs no network.
// (npm 10.9 and later already stop before installing anything, on the root's devEngines; this catches the rest.)
const agent = process.env.npm_config_user_agent ?? ''
if (!agent.startsWith('pnpm/')) {
  const used = agent.split(' ')[0] || 'another package manager'
  console.error(`\nThis repository installs with pnpm, not ${used}:\n\n  npm i -g pnpm@10 && pnpm install\n`)
  process.exit(1)
}
