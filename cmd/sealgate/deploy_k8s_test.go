package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"

	"github.com/sealgate/sealgate/config"
	"github.com/sealgate/sealgate/internal/testenv"
	"github.com/sealgate/sealgate/metrics"
)

// manifests holds the typed objects of deploy/kubernetes/, each document
// decoded strictly (an unknown or misspelt field is an error) into the
// Kubernetes API type its kind names.
type manifests struct {
	sts      *appsv1.StatefulSet
	services map[string]*corev1.Service
	pdb      *policyv1.PodDisruptionBudget
	configs  map[string]*corev1.ConfigMap
	secrets  map[string]*corev1.Secret
}

func loadManifests(t *testing.T) *manifests {
	t.Helper()
	files, err := filepath.Glob("../../deploy/kubernetes/*.yaml")
	if err != nil || len(files) < 3 {
		t.Fatalf("deploy/kubernetes: %d files (%v)", len(files), err)
	}
	m := &manifests{services: map[string]*corev1.Service{}, configs: map[string]*corev1.ConfigMap{},
		secrets: map[string]*corev1.Secret{}}
	for _, f := range files {
		for i, doc := range bytes.Split(mustRead(t, f), []byte("\n---\n")) {
			where := fmt.Sprintf("%s document %d", filepath.Base(f), i+1)
			if err := m.add(doc); err != nil {
				t.Fatalf("%s: %v", where, err)
			}
		}
	}
	if m.sts == nil || m.pdb == nil {
		t.Fatal("deploy/kubernetes needs a StatefulSet and a PodDisruptionBudget")
	}
	return m
}

func (m *manifests) add(doc []byte) error {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return err
	}
	strict := func(into any) error { return yaml.UnmarshalStrict(doc, into) }
	switch head.APIVersion + " " + head.Kind {
	case "apps/v1 StatefulSet":
		m.sts = &appsv1.StatefulSet{}
		return strict(m.sts)
	case "v1 Service":
		s := &corev1.Service{}
		err := strict(s)
		m.services[s.Name] = s
		return err
	case "policy/v1 PodDisruptionBudget":
		m.pdb = &policyv1.PodDisruptionBudget{}
		return strict(m.pdb)
	case "v1 ConfigMap":
		c := &corev1.ConfigMap{}
		err := strict(c)
		m.configs[c.Name] = c
		return err
	case "v1 Secret":
		s := &corev1.Secret{}
		err := strict(s)
		m.secrets[s.Name] = s
		return err
	}
	return fmt.Errorf("unexpected %s %s", head.APIVersion, head.Kind)
}

// gatewayConfig is the sealgate.yaml the StatefulSet mounts, decoded and
// validated by sealgate's own config package.
func (m *manifests) gatewayConfig(t *testing.T) *config.Config {
	t.Helper()
	for _, v := range m.sts.Spec.Template.Spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		cm := m.configs[v.ConfigMap.Name]
		if cm == nil {
			t.Fatalf("volume %s: no ConfigMap %s in deploy/kubernetes", v.Name, v.ConfigMap.Name)
		}
		c, err := config.Decode("sealgate.yaml", []byte(cm.Data["sealgate.yaml"]))
		if err != nil {
			t.Fatalf("ConfigMap %s: %v", cm.Name, err)
		}
		if err := c.Validate(config.Options{SkipFileChecks: true}); err != nil {
			t.Fatalf("ConfigMap %s:\n%v", cm.Name, err)
		}
		return c
	}
	t.Fatal("the StatefulSet mounts no ConfigMap with sealgate.yaml")
	return nil
}

func (m *manifests) container(t *testing.T) corev1.Container {
	t.Helper()
	cs := m.sts.Spec.Template.Spec.Containers
	if len(cs) != 1 {
		t.Fatalf("%d containers, want the gateway alone", len(cs))
	}
	return cs[0]
}

func portOf(t *testing.T, addr string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%q: %v", addr, err)
	}
	n, _ := strconv.Atoi(p)
	return int32(n)
}

// TestKubernetesManifests: every document is a valid Kubernetes object
// (strict decoding into the API types), and the objects fit sealgate: the
// container's ports are the config's listeners, the probes ask paths the
// metrics listener serves, preStop runs a real `node drain` that ends
// before the grace period, several replicas only with a PostgreSQL store,
// the cluster peers are the StatefulSet's pods, every Service and the
// budget select the pods, every file the config names is mounted, and the
// pod runs as non-root on a read-only root file system.
func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
	cfg := m.gatewayConfig(t)
	c := m.container(t)
	spec := m.sts.Spec.Template.Spec

	if inv, err := parseArgs(c.Args); err != nil || inv.cmd.name() != "serve" {
		t.Errorf("container args %q: not `sealgate serve` (%v)", c.Args, err)
	}
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	want := map[string]string{"metrics": cfg.Metrics.Listen, "portal": cfg.Portal.Listen, "api": cfg.API.Listen,
		"cluster": cfg.Cluster.Listen}
	for _, l := range cfg.Listeners {
		want[l.Name] = l.Address
	}
	for name, addr := range want {
		if addr == "" || ports[name] != portOf(t, addr) {
			t.Errorf("container port %s = %d, the config listens on %q", name, ports[name], addr)
		}
	}
	// The image's defaults (Dockerfile EXPOSE) are the config defaults.
	for name, def := range map[string]string{"smtp": config.DefaultSMTPAddress, "submission": config.DefaultSubmissionAddress,
		"portal": config.DefaultPortalAddress, "metrics": config.DefaultMetricsAddress} {
		if ports[name] != portOf(t, def) {
			t.Errorf("container port %s = %d, the default is %s", name, ports[name], def)
		}
	}

	checkProbes(t, c, ports, cfg)
	checkPreStop(t, m, c, cfg)
	checkReplicas(t, m, cfg)
	checkServices(t, m, ports)
	checkMounts(t, m, c, cfg)

	sc, psc := c.SecurityContext, spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		t.Error("the pod does not run as a non-root user")
	}
	if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Error("the gateway's root file system is writable or it may gain privileges")
	}
}

// checkProbes: readiness is /readyz and liveness /healthz on the metrics
// port, and sealgate's metrics listener really serves both.
func checkProbes(t *testing.T, c corev1.Container, ports map[string]int32, cfg *config.Config) {
	t.Helper()
	srv, err := metrics.Listen("127.0.0.1:0", prometheus.NewRegistry(), func() error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close(context.Background())
	for name, p := range map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe} {
		if p == nil || p.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", name)
			continue
		}
		if wantPath := map[string]string{"readiness": "/readyz", "liveness": "/healthz"}[name]; p.HTTPGet.Path != wantPath {
			t.Errorf("%s probe asks %s, want %s", name, p.HTTPGet.Path, wantPath)
		}
		if port := p.HTTPGet.Port.String(); port != "metrics" || ports[port] != portOf(t, cfg.Metrics.Listen) {
			t.Errorf("%s probe on port %s, want the metrics listener", name, port)
		}
		resp, err := http.Get("http://" + srv.Addr().String() + p.HTTPGet.Path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s probe path %s: the metrics listener answers %d", name, p.HTTPGet.Path, resp.StatusCode)
		}
	}
}

// checkPreStop: preStop runs `sealgate node drain` (a real verb of this
// binary) with a deadline that, with the shutdown after it, ends within
// the grace period; and the config lets a replaced pod serve again.
func checkPreStop(t *testing.T, m *manifests, c corev1.Container, cfg *config.Config) {
	t.Helper()
	if c.Lifecycle == nil || c.Lifecycle.PreStop == nil || c.Lifecycle.PreStop.Exec == nil {
		t.Fatal("no preStop exec hook: a stopped pod would leave its spool behind")
	}
	argv := c.Lifecycle.PreStop.Exec.Command
	if len(argv) < 2 || argv[0] != "/usr/local/bin/sealgate" {
		t.Fatalf("preStop %q does not run the image's sealgate", argv)
	}
	inv, err := parseArgs(argv[1:])
	if err != nil || inv.cmd.name() != "node drain" {
		t.Fatalf("preStop %q is not `sealgate node drain`: %v", argv, err)
	}
	deadline := cfg.Cluster.DrainDeadline
	if d := inv.flag("deadline"); d != "" {
		if deadline, err = time.ParseDuration(d); err != nil {
			t.Fatalf("preStop --deadline %q: %v", d, err)
		}
	}
	grace := m.sts.Spec.Template.Spec.TerminationGracePeriodSeconds
	// The drain, a minute for the hand-off, then the shutdown.
	if grace == nil || deadline+time.Minute+cfg.Queue.ShutdownTimeout > time.Duration(*grace)*time.Second {
		t.Errorf("drain deadline %v + 1m hand-off + shutdown %v does not fit terminationGracePeriodSeconds %v",
			deadline, cfg.Queue.ShutdownTimeout, grace)
	}
	if !cfg.Cluster.ResumeOnStart {
		t.Error("cluster.resume_on_start is off: a pod replaced after its drain would never serve again")
	}
}

// checkReplicas: several pods only with the shared store on PostgreSQL,
// and cluster.peers names exactly the StatefulSet's pods.
func checkReplicas(t *testing.T, m *manifests, cfg *config.Config) {
	t.Helper()
	replicas := int32(1)
	if m.sts.Spec.Replicas != nil {
		replicas = *m.sts.Spec.Replicas
	}
	if replicas > 1 && !strings.HasPrefix(cfg.Store.URL, "postgres://") {
		t.Errorf("%d replicas with store %q: each pod would have a portal of its own", replicas, cfg.Store.URL)
	}
	if replicas < 2 {
		t.Errorf("%d replica: no peer to hand a drained spool to", replicas)
	}
	var want []string
	for i := range replicas {
		want = append(want, fmt.Sprintf("%s-%d.%s:%d", m.sts.Name, i, m.sts.Spec.ServiceName, portOf(t, cfg.Cluster.Listen)))
	}
	if !slices.Equal(cfg.Cluster.Peers, want) {
		t.Errorf("cluster.peers %q, want the pods %q", cfg.Cluster.Peers, want)
	}
	if cfg.Cluster.TLS.CA == "" {
		t.Error("the cluster channel has no CA: peers would not be authenticated by certificate")
	}
	labels := m.sts.Spec.Template.Labels
	if sel := m.pdb.Spec.Selector; sel == nil || !matches(sel.MatchLabels, labels) {
		t.Error("the PodDisruptionBudget does not select the gateway's pods")
	}
	if mu := m.pdb.Spec.MaxUnavailable; mu == nil || mu.IntValue() != 1 {
		t.Errorf("PodDisruptionBudget maxUnavailable %v, want 1", mu)
	}
}

func matches(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// checkServices: each Service selects the pods and targets named ports
// the container has; SMTP keeps client addresses; the StatefulSet's
// service is headless and carries the cluster port.
func checkServices(t *testing.T, m *manifests, ports map[string]int32) {
	t.Helper()
	exposed := map[string]bool{}
	for name, s := range m.services {
		if !matches(s.Spec.Selector, m.sts.Spec.Template.Labels) {
			t.Errorf("Service %s does not select the gateway's pods", name)
		}
		for _, p := range s.Spec.Ports {
			if _, ok := ports[p.TargetPort.String()]; !ok {
				t.Errorf("Service %s port %s targets %q, not a container port", name, p.Name, p.TargetPort.String())
			}
			exposed[p.TargetPort.String()] = true
		}
		if slices.ContainsFunc(s.Spec.Ports, func(p corev1.ServicePort) bool { return p.TargetPort.String() == "smtp" }) &&
			s.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyLocal {
			t.Errorf("Service %s: externalTrafficPolicy %q loses client source addresses", name, s.Spec.ExternalTrafficPolicy)
		}
	}
	for _, p := range []string{"smtp", "submission", "portal", "api", "metrics", "cluster"} {
		if !exposed[p] {
			t.Errorf("no Service exposes the %s port", p)
		}
	}
	peers := m.services[m.sts.Spec.ServiceName]
	if peers == nil || peers.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("the StatefulSet's service %q is missing or not headless", m.sts.Spec.ServiceName)
	}
}

// checkMounts: every file the config names lies in a mounted volume (the
// data volume, or a Secret the example defines), and the data folder is
// the per-pod volume.
func checkMounts(t *testing.T, m *manifests, c corev1.Container, cfg *config.Config) {
	t.Helper()
	volumes := map[string]corev1.Volume{}
	for _, v := range m.sts.Spec.Template.Spec.Volumes {
		volumes[v.Name] = v
		if v.Secret != nil && m.secrets[v.Secret.SecretName] == nil {
			t.Errorf("volume %s: no Secret %s in secrets.example.yaml", v.Name, v.Secret.SecretName)
		}
	}
	claims := map[string]bool{}
	for _, vc := range m.sts.Spec.VolumeClaimTemplates {
		claims[vc.Name] = true
	}
	mountOf := func(path string) (corev1.VolumeMount, bool) {
		var best corev1.VolumeMount
		for _, vm := range c.VolumeMounts {
			if (path == vm.MountPath || strings.HasPrefix(path, vm.MountPath+"/")) && len(vm.MountPath) > len(best.MountPath) {
				best = vm
			}
		}
		return best, best.Name != ""
	}
	if vm, ok := mountOf(cfg.DataDir); !ok || vm.MountPath != cfg.DataDir || !claims[vm.Name] || vm.ReadOnly {
		t.Errorf("data_dir %s is not a writable per-pod volume", cfg.DataDir)
	}
	store, err := url.Parse(cfg.Store.URL)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{cfg.TLS.Cert, cfg.TLS.Key, cfg.Cluster.TLS.Cert, cfg.Cluster.TLS.Key, cfg.Cluster.TLS.CA,
		cfg.Portal.MasterKeyFile, cfg.Portal.UnsubscribeKeyFile, store.Query().Get("sslrootcert"), store.Query().Get("passfile")}
	for _, f := range files {
		vm, ok := mountOf(f)
		if f == "" || !ok {
			t.Errorf("%q is not in a mounted volume", f)
			continue
		}
		if v := volumes[vm.Name]; v.Secret != nil {
			if s := m.secrets[v.Secret.SecretName]; s != nil && !hasKey(s, filepath.Base(f)) {
				t.Errorf("%s: Secret %s has no key %s", f, s.Name, filepath.Base(f))
			}
		}
	}
}

func hasKey(s *corev1.Secret, key string) bool {
	_, a := s.Data[key]
	_, b := s.StringData[key]
	return a || b
}

// TestSystemdUnit: the unit runs `sealgate serve`, reloads with SIGHUP,
// may write only its data and log folders, keeps only the capability to
// bind port 25, and carries the hardening options; systemd-analyze verify
// (required in CI) finds nothing to say about it.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	raw := string(mustRead(t, "../../deploy/systemd/sealgate.service"))
	keys := map[string][]string{}
	section := ""
	for _, line := range strings.Split(raw, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("line %q is not KEY=VALUE", line)
			}
			keys[section+"."+k] = append(keys[section+"."+k], v)
		}
	}
	one := func(k string) string {
		if len(keys[k]) != 1 {
			t.Errorf("%s: %d values, want one", k, len(keys[k]))
			return ""
		}
		return keys[k][0]
	}
	start := strings.Fields(one("Service.ExecStart"))
	if len(start) < 2 || start[0] != "/usr/local/bin/sealgate" {
		t.Fatalf("ExecStart %q does not run sealgate", start)
	}
	if inv, err := parseArgs(start[1:]); err != nil || inv.cmd.name() != "serve" {
		t.Errorf("ExecStart %q is not `sealgate serve`: %v", start, err)
	}
	if r := one("Service.ExecReload"); !strings.Contains(r, "-HUP $MAINPID") {
		t.Errorf("ExecReload %q does not send SIGHUP", r)
	}
	for k, v := range map[string]string{"ProtectSystem": "strict", "PrivateTmp": "yes", "NoNewPrivileges": "yes",
		"CapabilityBoundingSet": "CAP_NET_BIND_SERVICE", "ProtectHome": "yes", "UMask": "0077"} {
		if got := one("Service." + k); got != v {
			t.Errorf("%s=%q, want %q", k, got, v)
		}
	}
	// The data folder a config file gets when it names none.
	fileDefaults, err := config.Decode("defaults.yaml", []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	rw := strings.Fields(one("Service.ReadWritePaths"))
	if !slices.Contains(rw, fileDefaults.DataDir) || one("Service.StateDirectory") != filepath.Base(fileDefaults.DataDir) {
		t.Errorf("ReadWritePaths %q / StateDirectory: not the default data folder %s", rw, fileDefaults.DataDir)
	}

	analyze := testenv.Tool(t, "systemd-analyze")
	// verify checks that ExecStart's program exists: point it at a real
	// build of sealgate in a copy of the unit.
	dir := t.TempDir()
	unit := filepath.Join(dir, "sealgate.service")
	os.WriteFile(unit, []byte(strings.ReplaceAll(raw, "/usr/local/bin/sealgate", buildBinary(t))), 0o644)
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
