// Package event holds the wire types every weft stage shares: the raw event a
// collector produces, the ECS document the normalizer makes of it, and the
// alert the correlator raises. Stages never import each other; they meet only
// through these types, encoded as msgpack batches on the bus.
package event
