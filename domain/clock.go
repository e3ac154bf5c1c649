package domain

import (
	"time"

	"github.com/custody-ledger/custody/domain/calendar"
)

// Almaty is Kazakhstan's time zone (UTC+5 for the whole country since 1 March 2024).
var Almaty = calendar.Almaty

// AddMonth returns 24:00 (Almaty) of the same day number in the next month, or of that
// month's last day if it is shorter (DOMAIN.md, "one month"; P.35).
func AddMonth(t time.Time) time.Time { return calendar.AddMonth(t) }
