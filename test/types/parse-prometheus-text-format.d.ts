// The package ships no types; this is the shape of its output (prom2json's), as its README gives it.
declare module 'parse-prometheus-text-format' {
  /** One sample of a counter, gauge or untyped metric; a histogram's or summary's sample has buckets or quantiles, count and sum. */
  export interface ParsedSample {
    labels?: Record<string, string>;
    value?: string;
    buckets?: Record<string, string>;
    quantiles?: Record<string, string>;
    count?: string;
    sum?: string;
  }
  /** One metric family: its name, HELP, TYPE and samples. */
  export interface ParsedFamily {
    name: string;
    help: string;
    type: 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';
    metrics: ParsedSample[];
  }
  /** Parses Prometheus text exposition; throws `InvalidLineError` on a line it cannot read. */
  export default function parsePrometheusTextFormat(text: string): ParsedFamily[];
}
