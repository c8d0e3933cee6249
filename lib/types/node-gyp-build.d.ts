// node-gyp-build ships no types: it takes a package folder and returns the
// exports of the addon it found there (or throws).
declare module 'node-gyp-build' {
  function load(dir: string): unknown;
  export default load;
}
