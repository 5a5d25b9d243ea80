// Package bus connects weft's stages over NATS: an embedded nats-server with
// JetStream in-process by default, or an external server or cluster. It owns
// the subjects (weft.raw.*, weft.ecs.*, weft.alerts.*), creates the streams
// idempotently, and carries events as msgpack batches with a Nats-Msg-Id so
// JetStream drops duplicates.
//
// Nothing an event says can break the connection: a subject's last token
// (Token) is the lower-case host name only when that is short, plain
// ASCII, and a bounded hash otherwise; Publish refuses subjects NATS would
// choke on and hashes long message ids. A message NATS still refuses (too
// big) comes back as a RejectedError, and PublishItems (under Batcher)
// splits its batch until only the refused item is left, which goes to the
// dead-letter stream on weft.dlq.rejected.<stream>, counted and logged.
// An embedded server with a data directory holds it with a lock file
// (internal/datadir) while it runs.
package bus
