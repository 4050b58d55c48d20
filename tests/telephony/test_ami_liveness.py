"""The AMI watchdog's bookkeeping (sans-IO): silence across our own stall is not the peer's."""

from __future__ import annotations

from contactcenter.telephony.ami.reconnect import Liveness


def test_a_silent_peer_is_dead_after_dead_after_when_the_watchdog_ticks_on_time():
    live = Liveness(ping_interval=3.0, dead_after=8.0)
    live.start(0.0)
    previous = 0.0
    for now in [t * live.tick for t in range(1, 9)]:
        live.checked(now, previous)
        previous = now
    assert live.is_dead(8.0)


def test_silence_across_a_stall_of_this_process_is_not_held_against_the_link():
    live = Liveness(ping_interval=3.0, dead_after=8.0)
    live.start(0.0)
    live.checked(10.0, 0.0)  # the watchdog woke 10 s late: the loop was stalled
    assert not live.is_dead(10.0)
    previous = 10.0
    for now in [10.0 + t * live.tick for t in range(1, 9)]:  # then the peer stays silent
        live.checked(now, previous)
        previous = now
    assert live.is_dead(18.0)
