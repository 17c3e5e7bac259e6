package skb

// Reason is an enum skb_drop_reason (include/net/dropreason-core.h), by
// its kernel name, so the trace and the UI show what `perf trace -e
// skb:kfree_skb` would.
type Reason string

// The reasons the model uses.
const (
	Consumed        Reason = "SKB_CONSUMED"
	NotSpecified    Reason = "SKB_DROP_REASON_NOT_SPECIFIED"
	QdiscDrop       Reason = "SKB_DROP_REASON_QDISC_DROP"
	NeighCreateFail Reason = "SKB_DROP_REASON_NEIGH_CREATEFAIL"
	QueuePurge      Reason = "SKB_DROP_REASON_QUEUE_PURGE" // __skb_queue_purge: a queue emptied in bulk
)
