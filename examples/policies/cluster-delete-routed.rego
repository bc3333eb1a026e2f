# No cluster is deleted while queues other than its own route to it: move the queues away in
# one plan, delete the cluster in the next. A queue named as the cluster is its own (C2: the
# control plane made it with the cluster), so it does not hold the delete back.
package main

deny contains {"msg": msg, "address": cluster.address} if {
	some cluster in input.changes
	cluster.kind == "Cluster"
	cluster.action == "delete"
	some queue in input.changes
	queue.kind == "Queue"
	queue.name != cluster.name
	routes_to(queue, cluster.name)
	msg := sprintf("%s is deleted while %s routes to it: move the queue away first", [cluster.address, queue.address])
}

# Routed there now (before) or once the plan is applied (after).
routes_to(queue, name) if name in queue.before.clusters

routes_to(queue, name) if name in queue.after.clusters
