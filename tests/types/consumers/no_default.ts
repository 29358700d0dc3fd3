// An ES module consumer must not be told there is a default export: Node
// would throw "does not provide an export named 'default'". (TypeScript 5.4
// under moduleResolution bundler allows synthetic defaults even for .d.mts,
// so this file is checked there only from 5.7 on.)
// @ts-expect-error there is no default export
import mhaDefault from 'mha-wasm';

export default mhaDefault;
