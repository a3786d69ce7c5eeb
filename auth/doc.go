// Package auth holds stopscope's credentials: ingest keys (random, printed
// once, stored as SHA-256 hashes), dashboard passwords (argon2id), session
// tokens, the login rate limiter, and the ingest key check shared by the
// HTTP middleware (package web) and the OTLP/gRPC interceptor (package
// ingest/receiver). It knows no transport: reading keys from headers or
// gRPC metadata, and the statuses of a refusal, are its callers'.
package auth
