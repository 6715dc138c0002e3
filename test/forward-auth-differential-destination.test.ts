// Forward auth against the servers behind the proxy, differentially: `Destination` and `Host`, and the
// COPY and MOVE that must still work (the suite and its oracle: test/support/forward-auth-differential.ts).
import { differentialSuite } from './support/forward-auth-differential';

differentialSuite('destination');
