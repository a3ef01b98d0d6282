// The ping parsing behind the paths e2e test and benchmark (bench/paths-scenario.ts): the time
// from a path break to traffic through the relay is read from `ping -D` output, so a wrong
// parse would report a relay that never worked as an instant switch.
import { describe, expect, it } from 'vitest';
import { parsePingD, recoveryAfter } from '../../bench/paths-scenario.js';

const line = (atS: number, seq: number) => `[${atS.toFixed(6)}] 64 bytes from 10.66.0.3: icmp_seq=${seq} ttl=64 time=0.512 ms`;

describe('ping -D parsing and the recovery after a path break', () => {
  it('reads arrival time and sequence number of each reply, nothing else', () => {
    const out = ['PING 10.66.0.3 (10.66.0.3) 56(84) bytes of data.', line(1000.25, 1), line(1000.27, 2),
      '--- 10.66.0.3 ping statistics ---', '2 packets transmitted, 2 received, 0% packet loss, time 20ms'].join('\n');
    expect(parsePingD(out)).toEqual([{ at: 1_000_250, seq: 1 }, { at: 1_000_270, seq: 2 }]);
  });

  it('measures from the event to the first reply after the lost pings', () => {
    const replies = [{ at: 1000, seq: 1 }, { at: 1020, seq: 2 }, { at: 1041, seq: 3 }, { at: 1700, seq: 36 }, { at: 1720, seq: 37 }];
    expect(recoveryAfter({ replies, endMs: 2000 }, 1030)).toEqual({ recoverMs: 670, lost: 32 });
  });

  it('says 0 when nothing was lost and replies kept coming, null when they stopped for good', () => {
    const flowing = [{ at: 1000, seq: 1 }, { at: 1020, seq: 2 }, { at: 1040, seq: 3 }, { at: 1060, seq: 4 }];
    expect(recoveryAfter({ replies: flowing, endMs: 1070 }, 1010)).toEqual({ recoverMs: 0, lost: 0 });
    // Replies right after the event (in flight before the drop rule took hold), then silence.
    expect(recoveryAfter({ replies: flowing, endMs: 16_000 }, 1010)).toEqual({ recoverMs: null, lost: 0 });
  });
});
