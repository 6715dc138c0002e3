// The part of autocannon's programmatic API the bench uses (the package ships no types).
declare module 'autocannon' {
  interface Options {
    url: string;
    connections: number;
    duration?: number;
    /** Requests to send, instead of a duration. */
    amount?: number;
    requests: { path: string; setupRequest: (request: { headers: Record<string, string> }) => object }[];
  }

  interface Result {
    duration: number;
    errors: number;
    timeouts: number;
    statusCodeStats: Record<string, { count: number }>;
    requests: { total: number };
  }

  function autocannon(options: Options, callback: (error: Error | null, result: Result) => void): unknown;
  export = autocannon;
}
