package domain

import (
	"time"
	_ "time/tzdata" // Asia/Almaty must resolve on machines without system tz data
)

// Almaty is Kazakhstan's time zone (UTC+5 for the whole country since 1 March 2024).
var Almaty = mustLoad("Asia/Almaty")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("domain: time zone " + name + ": " + err.Error())
	}
	return loc
}

// AddMonth returns 24:00 (Almaty) of the same day number in the next month, or of that
// month's last day if it is shorter (DOMAIN.md, "one month"; P.35).
func AddMonth(t time.Time) time.Time {
	t = t.In(Almaty)
	y, m, d := t.Date()
	first := time.Date(y, m+1, 1, 0, 0, 0, 0, Almaty)
	last := first.AddDate(0, 1, -1).Day()
	if d > last {
		d = last
	}
	return time.Date(first.Year(), first.Month(), d+1, 0, 0, 0, 0, Almaty)
}
