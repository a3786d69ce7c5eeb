package query

// ScopeSpikesDirect exposes scopeSpikesDirect, the uncached ScopeSpikes,
// for the tests that hold the cache to it.
var ScopeSpikesDirect = (*Service).scopeSpikesDirect

// SortScopeSpikes exposes the order of ScopeSpikes.
var SortScopeSpikes = sortScopeSpikes
