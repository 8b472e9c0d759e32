"""What a monitoring system can read of a running process: connections, commands and how the
broadcasts keep up. Counts and timings only: no workshop, no person, no content.

Layer: infrastructure. Uses prometheus_client with a registry per app (so tests can build many).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.connections = Gauge(
            "samsyn_connections",
            "Socket.IO connections open to this process, by view.",
            ["view"],
            registry=self.registry,
        )
        self.commands = Counter(
            "samsyn_commands",
            "Commands answered, by command and outcome (ok or refused).",
            ["command", "outcome"],
            registry=self.registry,
        )
        self.command_seconds = Histogram(
            "samsyn_command_seconds",
            "Time to answer a command, in seconds.",
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
        )
        self.command_batch = Histogram(
            "samsyn_command_batch_size",
            "Commands (and first joins) run together in one transaction.",
            registry=self.registry,
            buckets=(1, 2, 5, 10, 20, 50),
        )
        self.lock_wait = Histogram(
            "samsyn_workshop_lock_wait_seconds",
            "Time a batch of commands took to lock its workshop's row, in seconds: the"
            " statement's round trip, any other transaction on the workshop, and on a busy"
            " process the event loop's delay before the answer is read.",
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )
        self.broadcast_lag = Histogram(
            "samsyn_broadcast_lag_seconds",
            "From a change being published to its state being sent to the boards, in seconds.",
            registry=self.registry,
            buckets=(0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2, 5),
        )
        self.room_reads = Counter(
            "samsyn_room_reads",
            "Changed rooms the broadcaster read: whole, or only their counts (joins and"
            " ballots alone); counts_refused when another change came between, and the room"
            " was read whole after all.",
            ["read"],
            registry=self.registry,
        )
        self.event_loop_lag = Histogram(
            "samsyn_event_loop_lag_seconds",
            "How late the live side's ticker woke from a sleep: the event loop's delay in"
            " running a task that is ready, in seconds.",
            registry=self.registry,
            buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.rate_limited = Counter(
            "samsyn_rate_limited", "Commands refused for coming too fast.", registry=self.registry
        )
        self.joins_refused = Counter(
            "samsyn_joins_refused",
            "New participants refused by the guard on joins (per address or per workshop).",
            registry=self.registry,
        )

    def exposition(self) -> bytes:
        """Everything, in the Prometheus text format."""
        return generate_latest(self.registry)
