package domain

import "github.com/google/uuid"

// Stream name prefixes (DOMAIN.md): a stream is named by its family and the id of what it
// records. Stored names never change.
const (
	DocumentPrefix     = "document-"
	RegistryPrefix     = "registry-"
	ForceMajeurePrefix = "forcemajeure-"
	DisputePrefix      = "dispute-"
	// ApplicationPrefix names the streams of the services of seed 003 (DOMAIN.md, Other services).
	ApplicationPrefix = "application-"
)

// StreamPrefixes lists every family of the ledger's streams, e.g. for a store that keeps only
// these categories in its global log (eventstore/esdb).
func StreamPrefixes() []string {
	return []string{DocumentPrefix, RegistryPrefix, DisputePrefix, ForceMajeurePrefix, ApplicationPrefix}
}

// DocumentStream names a document's stream.
func DocumentStream(id uuid.UUID) string { return DocumentPrefix + id.String() }

// RegistryStream names a registry's stream.
func RegistryStream(id uuid.UUID) string { return RegistryPrefix + id.String() }

// ForceMajeureStream names a force-majeure period's stream.
func ForceMajeureStream(id uuid.UUID) string { return ForceMajeurePrefix + id.String() }

// DisputeStream names a dispute's stream.
func DisputeStream(id uuid.UUID) string { return DisputePrefix + id.String() }

// ApplicationStream names an application's stream.
func ApplicationStream(id uuid.UUID) string { return ApplicationPrefix + id.String() }
