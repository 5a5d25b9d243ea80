// Package reorder puts events that arrive out of order back into event-time
// order. Events are held per partition (a host) and released once the
// partition's watermark — the latest event time seen there minus the allowed
// lateness — has passed them, so any arrival order within the lateness
// releases the same sequence as sorting the events would.
package reorder
