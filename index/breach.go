package index

import "time"

// BreachID identifies a breach inside one index. IDs are assigned in order
// of first ingestion, start at 1 and are never reused; 0 means none.
type BreachID uint32

// Breach describes one incident in the catalog, with Have I Been Pwned's
// field names and JSON shape (BreachDate YYYY-MM-DD; AddedDate and
// ModifiedDate RFC 3339 with a zone). Fields a manifest leaves out take
// HIBP's defaults: false flags, empty strings, and null Attribution and
// DisclosureUrl. It never holds a breached identifier.
type Breach struct {
	ID           BreachID  `json:"-"`
	Name         string    `json:"Name"`
	Title        string    `json:"Title"`
	Domain       string    `json:"Domain"`
	BreachDate   string    `json:"BreachDate"`
	AddedDate    time.Time `json:"AddedDate"`
	ModifiedDate time.Time `json:"ModifiedDate"`
	PwnCount     int64     `json:"PwnCount"`
	Description  string    `json:"Description"`
	LogoPath     string    `json:"LogoPath"`
	DataClasses  []string  `json:"DataClasses"`
	IsVerified   bool      `json:"IsVerified"`
	IsFabricated bool      `json:"IsFabricated"`
	IsSensitive  bool      `json:"IsSensitive"`
	IsRetired    bool      `json:"IsRetired"`
	IsSpamList   bool      `json:"IsSpamList"`
	IsMalware    bool      `json:"IsMalware"`
	// IsSubscriptionFree marks a breach HIBP lets anyone search without a
	// subscription; IsStealerLog one sourced from info-stealer logs.
	IsSubscriptionFree bool `json:"IsSubscriptionFree"`
	IsStealerLog       bool `json:"IsStealerLog"`
	// Attribution credits who provided the data and DisclosureUrl links
	// to the organisation's disclosure; nil is HIBP's null.
	Attribution   *string `json:"Attribution"`
	DisclosureUrl *string `json:"DisclosureUrl"`
}

// HasPasswords reports whether the breach's data classes include passwords.
func (b *Breach) HasPasswords() bool {
	for _, c := range b.DataClasses {
		if c == "Passwords" {
			return true
		}
	}
	return false
}

// Entry is one record of the index: a hash of some kind with, for password
// kinds, how often it was seen, and for identifier kinds, the breaches it
// appears in (sorted by ID).
type Entry struct {
	Kind     Kind
	Hash     Hash
	Count    uint64
	Breaches []BreachID
}
