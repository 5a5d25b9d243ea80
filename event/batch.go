package event

// Batches are the unit of a NATS message: several events encoded together
// cost one publish and one acknowledgement.
type (
	RawBatch      []Raw
	DocumentBatch []Document
	AlertBatch    []Alert
)
