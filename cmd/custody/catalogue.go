package main

import (
	"flag"
	"fmt"

	"github.com/custody-ledger/custody/commands"
	"github.com/custody-ledger/custody/domain/catalogue"
)

// catalogueFlag is --catalogue: an operator's catalogue file whose services replace the
// embedded ones with the same code, so that an extension of the pilot (order p.6) or a new
// service term is a data change, never a release.
func catalogueFlag(fs *flag.FlagSet) *string {
	return fs.String("catalogue", envOr("CUSTODY_CATALOGUE", ""),
		"catalogue data file (JSON) replacing the embedded services of the same code, e.g. the pilot's valid_until (env CUSTODY_CATALOGUE)")
}

// loadCatalogue is the catalogue named by --catalogue, or the embedded one.
func loadCatalogue(path string) (*catalogue.Catalogue, error) {
	if path == "" {
		return catalogue.Default(), nil
	}
	c, err := catalogue.Default().LoadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--catalogue: %w", err)
	}
	return c, nil
}

// serviceOptions are the command service's options from --catalogue: the pilot's scope.
func serviceOptions(path string) ([]commands.Option, error) {
	if path == "" {
		return nil, nil
	}
	c, err := loadCatalogue(path)
	if err != nil {
		return nil, err
	}
	return catalogueOptions(c), nil
}

// catalogueOptions: the same catalogue decides applications and times their steps (DOMAIN.md,
// Other services) and sets the pilot's scope (order p.6).
func catalogueOptions(c *catalogue.Catalogue) []commands.Option {
	return []commands.Option{commands.WithPilot(c.Pilot()), commands.WithCatalogue(c)}
}
