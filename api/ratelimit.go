package api

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	r4 "github.com/samply/golang-fhir-models/fhir-models/fhir"
	"golang.org/x/time/rate"

	"github.com/matcare/matcare/fhir"
)

// Rate limit defaults (Config.RateLimit, Config.RateBurst).
const (
	DefaultRateLimit = 100 // requests per second, sustained, per client
	DefaultRateBurst = 200
)

// limiter is a token bucket per key: an authenticated client, or the
// address of a peer whose token failed. Buckets idle for idleAfter are
// forgotten.
type limiter struct {
	rate  rate.Limit
	burst int

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

const idleAfter = 10 * time.Minute

func newLimiter(perSecond float64, burst int) *limiter {
	if perSecond < 0 {
		return nil
	}
	if perSecond == 0 {
		perSecond = DefaultRateLimit
	}
	if burst <= 0 {
		burst = max(DefaultRateBurst, int(math.Ceil(perSecond)))
	}
	return &limiter{rate: rate.Limit(perSecond), burst: burst, buckets: map[string]*bucket{}}
}

// allow takes a token from key's bucket, or reports how long until one is
// available.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		for k, b := range l.buckets {
			if now.Sub(b.seen) > idleAfter {
				delete(l.buckets, k)
			}
		}
		l.lastSweep = now
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// limit answers 429 with Retry-After when key has used up its requests.
func (s *Server) limit(c echo.Context, key string) error {
	if s.limiter == nil || isInternal(c.Request()) {
		return nil
	}
	ok, wait := s.limiter.allow(key, time.Now())
	if ok {
		return nil
	}
	secs := int(math.Ceil(wait.Seconds()))
	c.Response().Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
	return fhir.Errorf(r4.IssueTypeThrottled, "", "too many requests from this client; retry after %d s", max(secs, 1)).
		WithStatus(http.StatusTooManyRequests)
}
