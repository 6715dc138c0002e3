// Forward auth against the servers behind the proxy, differentially: the request path and the method
// (the suite and its oracle: test/support/forward-auth-differential.ts).
import { differentialSuite } from './support/forward-auth-differential';

differentialSuite('request line');
