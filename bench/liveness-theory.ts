// The false-failover arithmetic of the header comment in src/core/constants.ts, as code, so the
// failover sweep prints the predicted rate next to what it measured. The intervals come from
// deriveTiming(), the engine's own derivation, so the prediction follows the real timers.
import { deriveTiming } from '../src/core/constants.js';

export interface FalseFailoverPrediction {
  /** Keepalives that must all be lost within one peer-timeout window: floor(T/K) - 1. */
  keepalivesLost: number;
  /** Probe round trips between suspicion and death that must all fail. */
  probes: number;
  /** Expected false deaths per second on one directed peer link (one node watching one peer). */
  perLinkPerSecond: number;
}

/**
 * rate ≈ (1/K) · p^(floor(T/K) - 1) · (1 - (1-p)^2)^N, with independent loss p in each
 * direction. N is the number of probes the timers send before death: one at the suspect time S
 * and then every P while silence < T, i.e. ceil((T - S) / P) — exactly (T - S) / P = 20 unless
 * the probe interval is clamped to the minimum timer interval.
 */
export function predictFalseFailovers(keepaliveMs: number, peerTimeoutMs: number, loss: number): FalseFailoverPrediction {
  if (!(loss >= 0 && loss <= 1)) throw new RangeError(`loss must be a fraction in [0, 1], not ${loss}`);
  const t = deriveTiming({ keepaliveMs, peerTimeoutMs });
  const keepalivesLost = Math.max(0, Math.floor(peerTimeoutMs / keepaliveMs) - 1);
  // The epsilon keeps float noise (e.g. 20.000000000000004) from adding a probe.
  const probes = Math.ceil((t.peerTimeoutMs - t.suspectAfterMs) / t.probeIntervalMs - 1e-9);
  const roundTripFails = 1 - (1 - loss) ** 2;
  const perLinkPerSecond = (1000 / keepaliveMs) * loss ** keepalivesLost * roundTripFails ** probes;
  return { keepalivesLost, probes, perLinkPerSecond };
}

/** "1.7e-13" style, or "0" for an exact zero. */
export function formatRate(value: number): string {
  return value === 0 ? '0' : value.toExponential(1);
}
