// Package domain is the ledger's model of custody: the events of DOMAIN.md as typed payloads,
// the state machine that decides whether an actor may record one now, the fold of a stream
// into its state, custody intervals and charges. It is pure and deterministic: time comes in
// as an argument, nothing here reads a clock, a file or a store.
//
// # Where the regulation is implemented
//
// The pilot order (seed 000), by point of its algorithm:
//
//	P.3, P.4    delivery request, method, chosen postomat    events.go, validate.go; decide.go (specs, checkRule)
//	P.5–P.7     issue at RAGS, GK courier, accumulation       decide.go (specs: roles, giver and taker)
//	P.8, P.9    Kaspi order after issue; platform for Kaspi  decide.go (checkRule, checkUnit)
//	P.10, P.11  to Kaspi intake by 13:00; 3 days' wait       deadline/rules.go; liability.go (P.10+P.17 one charge)
//	P.12–P.14   routing by method; registries; ЦОН route     decide.go (checkRule); registry.go
//	P.15, P.16  packing, the label is the waybill            decide.go (checkRule)
//	P.17        dispatch registry to intake by 12:00 next wd registry.go; deadline/rules.go
//	P.18        acceptance line by line; discrepancies       registry.go (DecideAcceptance); liability.go (missing line)
//	P.19–P.21   courier, cell, 3 days' storage               decide.go (CellStorage); deadline/rules.go
//	P.20, P.31  statuses to ИИС ЦОН                          the events themselves (read through the feed)
//	P.22–P.24   loss by Kaspi or GK, act, registration       decide.go; loss.go; liability.go (lossCharge)
//	P.25        cancellation and its notice                  decide.go; the notice is the read side's (projections)
//	P.26        duplicate in 3 working days, free            decide.go; loss.go (CheckDuplicateOf); deadline/rules.go
//	P.27        delay notice with a new date                 decide.go (checkRule); plausible.go (bounds)
//	P.28, P.29  collection within 3 calendar days            decide.go; deadline/rules.go
//	P.30–P.34   removal, return, return registry, ЦОН        decide.go; registry.go; deadline/rules.go
//	P.35        a month at issuance, then storage            decide.go (checkRule)
//	P.36        the commission; disputed attribution         dispute.go; liability.go (ForCommission)
//	P.37–P.39   force majeure, notice in 3 working days      forcemajeure.go, fmscope.go; deadline/forcemajeure.go
//	order p.6   the pilot's services and last day            pilot.go; catalogue (data)
//
// Seed 003, the RAGS services A1 (restoration of records), A2 (death registration and
// corrections) and A3 (annulment), by section of each regulation:
//
//	§5, §8      the provider's steps and their terms         application.go, application_state.go; catalogue (data)
//	§5          extension of the review, the notice          application.go; services/clocks.go
//	§9          via GK: acceptance, forwarding, issue        application.go; application_liability.go
//	terms       office hours, working time, the calendar     services/officehours.go, services/clocks.go; calendar
//
// Across both: roles and organisations in parties.go; stream names in streams.go; the stored
// encoding in codec.go; refusals (TransitionError, StepError: Refusal) in decide.go and
// refusal.go; plausible times in plausible.go; the fold of one stream in one pass
// (ReplayStream) in liability.go.
package domain
