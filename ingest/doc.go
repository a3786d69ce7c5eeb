// Package ingest is stopscope's native way in: POST /v1/responses. It
// decodes Claude Messages API responses, streamed responses (server-sent
// event transcripts, replayed with the official Go SDK), Messages API error
// bodies and Agent SDK result messages, bare or in an envelope that adds
// time, app, environment, ids, latency and the request, into classified
// analytics.Records, and hands them to a store.Inserter.
//
// A body is one JSON object, a JSON array, or NDJSON. Each record stands on
// its own: a bad one is rejected with its index and an error that says
// what to fix, and never costs the good records beside it.
//
// Decoding is pure (DecodeBatch, DecodeRecord, DecodeStream); Handler adds
// HTTP: gzip, size limits and storing.
package ingest
