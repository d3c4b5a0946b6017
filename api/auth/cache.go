package auth

import (
	"crypto/sha256"
	"sync"
	"time"
)

// DefaultCacheTTL is how long a verified token is remembered by default.
const DefaultCacheTTL = time.Minute

// maxCachedTokens bounds the cache; beyond it expired entries are swept,
// and if none are, the cache starts afresh.
const maxCachedTokens = 10000

// tokenCache remembers tokens that verified, keyed by their SHA-256, so
// that a client reusing its token (backend services keep one for its whole
// lifetime) pays for one signature check per TTL rather than per request.
// An entry never outlives the token's exp, so caching never accepts a
// token the verifier would refuse for its times; a key removed from the
// JWKS stops being trusted for cached tokens within the TTL.
type tokenCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[[sha256.Size]byte]cachedToken
}

type cachedToken struct {
	p     *Principal
	until time.Time
}

func newTokenCache(ttl time.Duration) *tokenCache {
	if ttl < 0 {
		return nil
	}
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	return &tokenCache{ttl: ttl, m: map[[sha256.Size]byte]cachedToken{}}
}

func (c *tokenCache) get(raw string, now time.Time) *Principal {
	if c == nil {
		return nil
	}
	k := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil
	}
	if !now.Before(e.until) {
		delete(c.m, k)
		return nil
	}
	return e.p
}

func (c *tokenCache) put(raw string, p *Principal, now time.Time) {
	if c == nil {
		return
	}
	until := now.Add(c.ttl)
	if p.ExpiresAt.Before(until) {
		until = p.ExpiresAt
	}
	if !now.Before(until) {
		return
	}
	k := sha256.Sum256([]byte(raw))
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= maxCachedTokens {
		for key, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, key)
			}
		}
		if len(c.m) >= maxCachedTokens {
			clear(c.m)
		}
	}
	c.m[k] = cachedToken{p: p, until: until}
}
