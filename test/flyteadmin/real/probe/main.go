// flyteadmin-probe: flyteadmin's own code, run where its API does not reach, for the tests
// against the real flyteadmin (test/flyteadmin/real/). scripts/flyte-go.sh builds it beside
// flyteadmin, in the same wrapper module, so it links the flyteadmin release under test.
//
//	flyteadmin-probe resolve -config FILE [-executions N] PROJECT/DOMAIN[/WORKFLOW]...
//	    Starts flyteadmin's execution-cluster selector exactly as `flyteadmin serve` does
//	    (executioncluster/impl: NewListTargets over the config's clusterConfigs, then
//	    NewRandomClusterSelector with its labelClusterMap and defaultExecutionLabel), on the
//	    SQLite database of FILE, and asks it where N executions of each project/domain[/workflow]
//	    would run (GetTarget, seeded by execution name as flyteadmin seeds it). Prints one JSON
//	    line per query: {"query", "label", "counts": {cluster: n}}. The Kubernetes clients of the
//	    targets are not made (there are no clusters here): that is the only part left out. A
//	    configuration flyteadmin refuses at start-up (a weight outside [0, 1]) exits 2 with its error.
//
//	flyteadmin-probe insert-row -config FILE -type T -project P -domain D [-workflow W]
//	    [-launch-plan L] -value V
//	    Writes a matchable-attribute row through flyteadmin's repository (gormimpl ResourceRepo
//	    CreateOrUpdate): the only way a launch-plan-level row exists, since no API writes one.
//
//	flyteadmin-probe credentials -dir DIR NAME...
//	    Writes DIR/NAME_token and DIR/NAME_cacert (a self-signed CA in PEM) for each cluster, as
//	    flyte-core mounts them from Secret cluster-credentials: `serve` reads both at start-up.
package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"flag"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang/protobuf/proto"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/flyteorg/flyte/flyteadmin/pkg/executioncluster"
	clusterimpl "github.com/flyteorg/flyte/flyteadmin/pkg/executioncluster/impl"
	"github.com/flyteorg/flyte/flyteadmin/pkg/manager/impl/resources"
	managerinterfaces "github.com/flyteorg/flyte/flyteadmin/pkg/manager/interfaces"
	"github.com/flyteorg/flyte/flyteadmin/pkg/repositories"
	repoerrors "github.com/flyteorg/flyte/flyteadmin/pkg/repositories/errors"
	repointerfaces "github.com/flyteorg/flyte/flyteadmin/pkg/repositories/interfaces"
	"github.com/flyteorg/flyte/flyteadmin/pkg/repositories/models"
	"github.com/flyteorg/flyte/flyteadmin/pkg/runtime"
	runtimeinterfaces "github.com/flyteorg/flyte/flyteadmin/pkg/runtime/interfaces"
	"github.com/flyteorg/flyte/flyteidl/gen/pb-go/flyteidl/admin"
	"github.com/flyteorg/flyte/flytestdlib/config"
	"github.com/flyteorg/flyte/flytestdlib/config/viper"
	"github.com/flyteorg/flyte/flytestdlib/logger"
	"github.com/flyteorg/flyte/flytestdlib/promutils"
)

// results is where the probe's JSON lines go. flyteadmin's gorm logger writes to whatever
// os.Stdout is when the database opens (flytestdlib database/gorm.go: "SLOW SQL >= 200ms" on a
// loaded machine), so os.Stdout is pointed at stderr and only the results reach stdout.
var results = os.Stdout

func main() {
	os.Stdout = os.Stderr
	if len(os.Args) < 2 {
		fail(1, "usage: flyteadmin-probe resolve|insert-row|credentials ...")
	}
	ctx := context.Background()
	switch os.Args[1] {
	case "resolve":
		resolve(ctx, os.Args[2:])
	case "insert-row":
		insertRow(ctx, os.Args[2:])
	case "credentials":
		credentials(os.Args[2:])
	default:
		fail(1, "unknown command %q", os.Args[1])
	}
}

func fail(code int, format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "flyteadmin-probe: "+format+"\n", args...)
	os.Exit(code)
}

// loadConfig reads FILE as `flyteadmin --config FILE` does (cmd/entrypoints/root.go initConfig).
func loadConfig(ctx context.Context, file string) runtimeinterfaces.Configuration {
	accessor := viper.NewAccessor(config.Options{SearchPaths: []string{file}, StrictMode: false})
	if err := accessor.UpdateConfig(ctx); err != nil {
		fail(1, "config %s: %v", file, err)
	}
	return runtime.NewConfigurationProvider()
}

func openRepo(ctx context.Context, cfg runtimeinterfaces.Configuration) repointerfaces.Repository {
	db, err := repositories.GetDB(ctx, cfg.ApplicationConfiguration().GetDbConfig(), logger.GetConfig())
	if err != nil {
		fail(1, "database: %v", err)
	}
	scope := promutils.NewScope("probe")
	return repositories.NewGormRepo(db, repoerrors.NewPostgresErrorTransformer(scope.NewSubScope("errors")), scope.NewSubScope("database"))
}

// targetsWithoutClients is flyteadmin's ExecutionTargetProvider less the Kubernetes clients.
type targetsWithoutClients struct{}

func (targetsWithoutClients) GetExecutionTarget(_ prometheus.Counter, c runtimeinterfaces.ClusterConfig) (*executioncluster.ExecutionTarget, error) {
	return &executioncluster.ExecutionTarget{ID: c.Name, Enabled: c.Enabled}, nil
}

type resolution struct {
	Query  string         `json:"query"`
	Label  string         `json:"label"`
	Counts map[string]int `json:"counts"`
}

func resolve(ctx context.Context, args []string) {
	fs := flag.NewFlagSet("resolve", flag.ExitOnError)
	file := fs.String("config", "", "flyteadmin config file")
	executions := fs.Int("executions", 10000, "executions per query")
	_ = fs.Parse(args)
	cfg := loadConfig(ctx, *file)
	repo := openRepo(ctx, cfg)
	counter := prometheus.NewCounter(prometheus.CounterOpts{Name: "probe_initialization_errors"})
	targets, err := clusterimpl.NewListTargets(counter, targetsWithoutClients{}, cfg.ClusterConfiguration())
	if err != nil {
		fail(2, "flyteadmin refuses the cluster configuration: %v", err)
	}
	selector, err := clusterimpl.NewRandomClusterSelector(targets, cfg, repo)
	if err != nil {
		fail(2, "flyteadmin refuses the cluster configuration: %v", err)
	}
	manager := resources.NewResourceManager(repo, cfg.ApplicationConfiguration())
	out := json.NewEncoder(results)
	for _, query := range fs.Args() {
		parts := strings.Split(query, "/")
		if len(parts) < 2 || len(parts) > 3 {
			fail(1, "query %q: write PROJECT/DOMAIN[/WORKFLOW]", query)
		}
		spec := executioncluster.ExecutionTargetSpec{Project: parts[0], Domain: parts[1]}
		if len(parts) == 3 {
			spec.Workflow = parts[2]
		}
		r := resolution{Query: query, Counts: map[string]int{}}
		// The label GetTarget looks up (resources.ResourceManager.GetResource, most specific row).
		res, err := manager.GetResource(ctx, managerinterfaces.ResourceRequest{
			Project: spec.Project, Domain: spec.Domain, Workflow: spec.Workflow,
			ResourceType: admin.MatchableResource_EXECUTION_CLUSTER_LABEL,
		})
		if err == nil && res.Attributes.GetExecutionClusterLabel() != nil {
			r.Label = res.Attributes.GetExecutionClusterLabel().Value
		}
		for i := 0; i < *executions; i++ {
			s := spec
			s.ExecutionID = fmt.Sprintf("%s-%d", strings.ReplaceAll(query, "/", "-"), i)
			target, err := selector.GetTarget(ctx, &s)
			if err != nil {
				fail(1, "GetTarget %s: %v", query, err)
			}
			r.Counts[target.ID]++
		}
		if err := out.Encode(r); err != nil {
			fail(1, "%v", err)
		}
	}
}

var priorities = map[string]models.ResourcePriority{
	"project":     models.ResourcePriorityProjectLevel,
	"domain":      models.ResourcePriorityProjectDomainLevel,
	"workflow":    models.ResourcePriorityWorkflowLevel,
	"launch-plan": models.ResourcePriorityLaunchPlanLevel,
}

func insertRow(ctx context.Context, args []string) {
	fs := flag.NewFlagSet("insert-row", flag.ExitOnError)
	file := fs.String("config", "", "flyteadmin config file")
	typ := fs.String("type", "EXECUTION_CLUSTER_LABEL", "EXECUTION_CLUSTER_LABEL or CLUSTER_ASSIGNMENT")
	project := fs.String("project", "", "")
	domain := fs.String("domain", "", "")
	workflow := fs.String("workflow", "", "")
	launchPlan := fs.String("launch-plan", "", "")
	value := fs.String("value", "", "the label or the pool")
	_ = fs.Parse(args)
	attrs := &admin.MatchingAttributes{}
	switch *typ {
	case "EXECUTION_CLUSTER_LABEL":
		attrs.Target = &admin.MatchingAttributes_ExecutionClusterLabel{ExecutionClusterLabel: &admin.ExecutionClusterLabel{Value: *value}}
	case "CLUSTER_ASSIGNMENT":
		attrs.Target = &admin.MatchingAttributes_ClusterAssignment{ClusterAssignment: &admin.ClusterAssignment{ClusterPoolName: *value}}
	default:
		fail(1, "type %q: EXECUTION_CLUSTER_LABEL or CLUSTER_ASSIGNMENT", *typ)
	}
	level := "project"
	switch {
	case *launchPlan != "":
		level = "launch-plan"
	case *workflow != "":
		level = "workflow"
	case *domain != "":
		level = "domain"
	}
	bytes, err := proto.Marshal(attrs)
	if err != nil {
		fail(1, "%v", err)
	}
	repo := openRepo(ctx, loadConfig(ctx, *file))
	err = repo.ResourceRepo().CreateOrUpdate(ctx, models.Resource{
		Project: *project, Domain: *domain, Workflow: *workflow, LaunchPlan: *launchPlan,
		ResourceType: *typ, Priority: priorities[level], Attributes: bytes,
	})
	if err != nil {
		fail(1, "CreateOrUpdate: %v", err)
	}
}

func credentials(args []string) {
	fs := flag.NewFlagSet("credentials", flag.ExitOnError)
	dir := fs.String("dir", "", "where to write NAME_token and NAME_cacert")
	_ = fs.Parse(args)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		fail(1, "%v", err)
	}
	for _, name := range fs.Args() {
		template := &x509.Certificate{
			SerialNumber:          big.NewInt(time.Now().UnixNano()),
			Subject:               pkix.Name{CommonName: name},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().Add(24 * time.Hour),
			IsCA:                  true,
			BasicConstraintsValid: true,
			KeyUsage:              x509.KeyUsageCertSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
		if err != nil {
			fail(1, "%v", err)
		}
		cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
		if err := os.WriteFile(filepath.Join(*dir, name+"_cacert"), cert, 0o600); err != nil {
			fail(1, "%v", err)
		}
		if err := os.WriteFile(filepath.Join(*dir, name+"_token"), []byte("token-of-"+name), 0o600); err != nil {
			fail(1, "%v", err)
		}
	}
}
