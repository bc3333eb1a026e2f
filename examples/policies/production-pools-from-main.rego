# Production pools change only from main: a plan of any other branch (a pull request's head,
# a feature branch run by hand) that creates, updates, replaces or deletes one fails.
# data.poolsync.branch is the branch poolsync planned (docs/policies.md); a pool is production
# when its name starts with "prod", or in the environment named "production".
package main

deny contains {"msg": msg, "address": change.address} if {
	some change in input.changes
	change.kind == "ClusterPool"
	change.action in {"create", "update", "replace", "delete"}
	production(change)
	not data.poolsync.branch == "main"
	msg := sprintf("%s is a production pool: it changes only from main, %s", [change.address, planned_from])
}

# The branch planned, in words: none is known outside Git or on a detached HEAD (null).
planned_from := sprintf("not from %s", [data.poolsync.branch]) if {
	is_string(data.poolsync.branch)
} else := "and this plan is of no known branch (outside Git, or a detached HEAD)"

production(change) if startswith(change.name, "prod")

production(_) if data.poolsync.environment == "production"
