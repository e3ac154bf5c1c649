package api_test

// addTransparency describes the verifiable log's routes (api/transparency.go).
func addTransparency(schemas, paths obj) {
	b64 := func(desc string) obj { return with(strS(desc), "contentEncoding", "base64") }
	hexS := strS("SHA-256, hex")
	proofS := arrS(b64("a node hash, RFC 9162 order"))
	schemas["Checkpoint"] = objS([]string{"origin", "size", "root", "position", "note", "public_key", "created_at"}, obj{
		"origin": strS("the log's name, the key's name"), "size": intS("tree size"), "root": b64("root hash"),
		"position":   intS("global position of the last leaf covered"),
		"note":       strS("the C2SP tlog-checkpoint signed note, as published"),
		"public_key": strS("the signing key in note verifier format"), "created_at": timeS("")})
	schemas["Proof"] = objS([]string{"size", "hashes"}, obj{
		"position": intS("inclusion: the event's global position"), "index": intS("inclusion: its leaf index"),
		"from": intS("consistency: the smaller tree size"), "size": intS("the tree size proved against"), "hashes": proofS})
	leaf := obj{"index": intS("leaf index"), "position": intS(""), "stream_id": strS(""), "version": intS(""),
		"event_id": uuidS(""), "hash": hexS, "proof": proofS}
	schemas["AuditLeaf"] = objS([]string{"index", "position", "stream_id", "version", "event_id", "hash", "proof"}, leaf)
	event := obj{"type": strS(""), "schema_version": intS(""), "data": nullable(b64("the stored bytes")),
		"metadata": nullable(b64("")), "recorded_at": timeS(""), "prev_hash": hexS,
		"redacted": boolS("data and metadata withheld (personal data): the event's place is proved, not its content")}
	for k, v := range leaf {
		event[k] = v
	}
	schemas["AuditEvent"] = objS([]string{"index", "position", "stream_id", "version", "event_id", "type", "schema_version",
		"data", "metadata", "recorded_at", "prev_hash", "hash", "proof"}, event)
	schemas["AuditBundle"] = objS([]string{"format", "public_key", "checkpoint", "scope", "events"}, obj{
		"format": strS("custody-audit-bundle/v1"), "public_key": strS("note verifier key"),
		"checkpoint": strS("the signed checkpoint note the proofs lead to"),
		"scope": objS(nil, obj{"document": uuidS("a document's bundle"), "application": uuidS("an application's bundle (RAGS services)"),
			"from": intS("a range's first position"), "to": intS("a range's last position")}),
		"events": arrS(ref("AuditEvent")), "before": ref("AuditLeaf"), "after": ref("AuditLeaf"),
		"consistency": arrS(objS([]string{"from", "proof"}, obj{"from": intS(""), "proof": proofS})),
		"head": objS([]string{"stream_id", "version", "index", "leaf_hash", "bucket", "bucket_index", "bucket_size", "bucket_proof", "proof"}, obj{
			"stream_id": strS("the document's or application's stream"), "version": intS("its head version at the checkpoint: the bundle's last event"),
			"index": intS("the head event's leaf index"), "leaf_hash": b64("the head event's leaf hash"),
			"bucket": intS("HeadBucket(stream_id)"), "bucket_index": intS("the head's index in its bucket, sorted by stream id"),
			"bucket_size": intS("heads in the bucket"), "bucket_proof": proofS, "proof": proofS})})

	intQ := func(name, desc string) obj {
		return obj{"name": name, "in": "query", "schema": obj{"type": "integer", "minimum": 0}, "description": desc}
	}
	errs := []string{"400", "401", "404", "503"}
	paths["/v1/checkpoints/latest"] = obj{"get": op("getLatestCheckpoint", "The newest signed checkpoint of the verifiable log",
		"Checkpoint", "200", "the checkpoint", nil, errs...)}
	paths["/v1/checkpoints"] = obj{"get": op("getCheckpoint", "The signed checkpoint of a tree size",
		"Checkpoint", "200", "the checkpoint", []any{intQ("size", "required")}, errs...)}
	paths["/v1/proofs/inclusion"] = obj{"get": op("getInclusionProof", "Inclusion proof of the event at a global position",
		"Proof", "200", "the audit path", []any{intQ("position", "required"), intQ("size", "default: the latest checkpoint's")}, errs...)}
	paths["/v1/proofs/consistency"] = obj{"get": op("getConsistencyProof", "Consistency proof between two tree sizes",
		"Proof", "200", "the proof", []any{intQ("from", "required"), intQ("to", "default: the latest checkpoint's")}, errs...)}
	paths["/v1/audit/bundle"] = obj{"get": op("getAuditBundle", "An audit bundle, verified offline by `custody audit verify`",
		"AuditBundle", "200", "the bundle (events with personal data redacted for roles that may not see it); "+
			"a document's for whoever reads the document, an application's for whoever reads the application (the same answer as "+
			"GET /v1/applications/{id}), a range for integrators and overseers (403 otherwise)",
		[]any{query_("document", "a document's id; or application, or from and to (one of the three, 400 otherwise)"),
			query_("application", "an application's id"), intQ("from", "first position"), intQ("to", "last position"),
			intQ("since", "add a consistency proof from this tree size")}, "400", "401", "403", "404", "503")}
}
