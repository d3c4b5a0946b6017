package repository

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"

	"github.com/matcare/matcare/service"
)

// claimCollection holds the claims of conditional creates: one document
// per generation of a key, under _id "<key>#<gen>", never changed.
const claimCollection = "matcare_claims"

type claimDoc struct {
	ID  string    `bson:"_id"`
	RID string    `bson:"rid"`
	At  time.Time `bson:"at"`
}

func claimID(key string, gen int) string { return key + "#" + strconv.Itoa(gen) }

// CurrentClaim implements service.Store: the generations of a key are
// read by _id, 1, 2, … until one is missing, each a point lookup.
func (s *Store) CurrentClaim(ctx context.Context, key string) (service.Claim, error) {
	coll := s.db.Collection(claimCollection)
	last := service.Claim{Key: key}
	for gen := 1; ; gen++ {
		var d claimDoc
		err := coll.FindOne(ctx, bson.D{{Key: "_id", Value: claimID(key, gen)}}).Decode(&d)
		if errors.Is(err, mongo.ErrNoDocuments) {
			return last, nil
		}
		if err != nil {
			return service.Claim{}, s.storageErr("read claim", err)
		}
		last = service.Claim{Key: key, Gen: gen, ID: d.RID, At: d.At.UTC()}
	}
}

// TakeClaim implements service.Store with one insert under the claim's
// unique _id: of racers for one generation exactly one succeeds.
func (s *Store) TakeClaim(ctx context.Context, c service.Claim) error {
	if c.Gen < 1 {
		return fmt.Errorf("take claim: generation %d", c.Gen)
	}
	_, err := s.db.Collection(claimCollection).InsertOne(ctx, claimDoc{ID: claimID(c.Key, c.Gen), RID: c.ID, At: c.At})
	if mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("claim generation %d: %w", c.Gen, service.ErrVersionConflict)
	}
	if err != nil {
		return s.storageErr("take claim", err)
	}
	return nil
}
