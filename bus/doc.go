// Package bus connects weft's stages over NATS: an embedded nats-server with
// JetStream in-process by default, or an external server or cluster. It owns
// the subjects (weft.raw.*, weft.ecs.*, weft.alerts.*), creates the streams
// idempotently, and carries events as msgpack batches with a Nats-Msg-Id so
// JetStream drops duplicates.
package bus
