// `express4` is express@4 installed under an alias, to run the middleware tests on both majors.
// Its API surface used by the tests is the same as express 5's, so borrow those types.
declare module 'express4' {
  import express from 'express';
  export = express;
}
