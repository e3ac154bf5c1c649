package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/custody-ledger/custody/api"
	"github.com/custody-ledger/custody/domain"
)

// cmdKeys creates, lists and revokes API keys in the store. `keys create` prints the secret
// once, as the last line of stdout, so scripts can take it with `tail -1`.
func cmdKeys(ctx context.Context, args []string, out io.Writer) error {
	if len(args) == 0 {
		return errUsage
	}
	if args[0] == "checkpoint" { // the verifiable log's signing key: a file, not the store
		return cmdCheckpointKey(args[1:], out)
	}
	fs := flag.NewFlagSet("keys", flag.ContinueOnError)
	store, read := storeFlags(fs)
	org := fs.String("org", "", "organisation: rags, gk, kaspi (empty for auditor, commission, admin)")
	unit := fs.String("unit", "", "the unit the key acts for")
	role := fs.String("role", "", "role, e.g. kaspi_platform, gk_accumulation, auditor")
	recipient := fs.String("recipient", "", "a recipient's key for the documents addressed to this phone or IIN (stored as a digest)")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	b, err := openBackend(ctx, *store, *read)
	if err != nil {
		return err
	}
	defer b.Close()
	ks, err := b.keyStore(ctx)
	if err != nil {
		return err
	}
	switch args[0] {
	case "create":
		if *recipient != "" { // read scope: their own documents only (api/scope.go)
			*org, *unit, *role = string(domain.OrgRecipient), api.RecipientUnit(*recipient), string(domain.RoleRecipient)
		}
		secret, k, err := ks.Create(ctx, domain.Org(*org), *unit, domain.Role(*role))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "key %s: org %q unit %q role %s (the secret below is shown once)\n", k.ID, k.Org, k.Unit, k.Role)
		fmt.Fprintln(out, secret)
		return nil
	case "list":
		list, err := ks.List(ctx)
		if err != nil {
			return err
		}
		enc := json.NewEncoder(out)
		for _, k := range list {
			if err := enc.Encode(k); err != nil {
				return err
			}
		}
		return nil
	case "revoke":
		if len(pos) != 1 {
			return errUsage
		}
		if err := ks.Revoke(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(out, "key %s revoked\n", pos[0])
		return nil
	}
	return errUsage
}

type keySpec struct {
	role domain.Role
	unit string
}

// mintKeys creates one key per spec and returns the secrets by role.
func mintKeys(ctx context.Context, b *backend, specs []keySpec) (map[domain.Role]string, error) {
	ks, err := b.keyStore(ctx)
	if err != nil {
		return nil, err
	}
	out := map[domain.Role]string{}
	for _, s := range specs {
		secret, _, err := ks.Create(ctx, domain.OrgOf(s.role), s.unit, s.role)
		if err != nil {
			return nil, fmt.Errorf("key for %s: %w", s.role, err)
		}
		out[s.role] = secret
	}
	return out, nil
}
