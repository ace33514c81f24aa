/**
 * How a node's children are arranged: run one after another (`sequence`), one of them picked by a choice (`choice`),
 * or all of them together (`group`).
 */
export type NodeLayout = 'sequence' | 'choice' | 'group'
/** A Function described as data, for graphs: what it is, and how its children (if any) are arranged. */
export interface FunctionNode {
  readonly kind: string
  readonly name: string
  /** How `children` (or `branches`) run; absent for a Function without children. */
  readonly layout?: NodeLayout
  readonly children?: ReadonlyArray<FunctionNode>
  /** For the `choice` layout: each choice and the node it leads to (`undefined` when the choice has no branch). */
  readonly branches?: ReadonlyArray<{
    readonly choice: string
    readonly node: FunctionNode | undefined
  }>
  /** For the `group` layout: `true` when its one child runs over each item of a list (Parallel's map form). */
  readonly map?: boolean
}
//# sourceMappingURL=function-node.d.ts.map
