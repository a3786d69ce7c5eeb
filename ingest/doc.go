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
// Decoding is pure (DecodeBatch, DecodeRecord, DecodeStream): bytes in,
// records or *analytics.Error out, with no knowledge of HTTP, echo or gRPC.
// Package ingest/receiver is the transport in front of it: the endpoint,
// gzip, body size limits, storing, and statuses.
package ingest
