// Command jx-pipeline-check loads a repository's Jenkins X 3 pipelines with the real Lighthouse and
// Tekton Pipelines code, at the versions pinned in go.mod, and prints what would run.
//
//	jx-pipeline-check [flags] REPOSITORY
//
// For every .lighthouse/<dir>/triggers.yaml (and .lighthouse/triggers.yaml), as Lighthouse finds them:
//
//   - the file is decoded strictly (unknown or duplicate fields are errors) into Lighthouse's
//     triggerconfig.Config, and must be apiVersion config.lighthouse.jenkins-x.io/v1alpha1, kind TriggerConfig;
//   - every job names a `source:` file beside it, which must exist inside the repository, decode strictly
//     into Tekton's pipeline/v1 PipelineRun (apiVersion tekton.dev/v1), and pass Tekton's own
//     SetDefaults and Validate, as the Tekton admission webhook applies them on create;
//   - the file is then loaded by Lighthouse (inrepo.LoadTektonResourceAsPipelineRun: its default
//     parameters, and its own validation), and the jobs are merged into an empty Lighthouse
//     configuration by merge.ConfigMerge, which defaults and validates them as the Lighthouse
//     webhook does for an in-repository configuration;
//   - for the refs given by the flags, each job's parameter values come from Lighthouse's job spec
//     (jobutil.PresubmitSpec/PostsubmitSpec, GetEnvVars), and Tekton's reconcilers substitute them:
//     every required parameter must be provided, and no `$(params.…)` may be left in a step.
//
// Problems go to stderr, one line each, and the exit status is 1. Otherwise stdout is a JSON report
// (sorted keys, deterministic): per job, Lighthouse's view (context, trigger, which branches it runs
// for) and the steps Tekton would run, with their parameters substituted. Exit status 2: usage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/jenkins-x/lighthouse/pkg/apis/lighthouse/v1alpha1"
	"github.com/jenkins-x/lighthouse/pkg/config"
	"github.com/jenkins-x/lighthouse/pkg/config/job"
	"github.com/jenkins-x/lighthouse/pkg/jobutil"
	"github.com/jenkins-x/lighthouse/pkg/plugins"
	"github.com/jenkins-x/lighthouse/pkg/triggerconfig"
	"github.com/jenkins-x/lighthouse/pkg/triggerconfig/inrepo"
	"github.com/jenkins-x/lighthouse/pkg/triggerconfig/merge"
	"github.com/sirupsen/logrus"
	pipelinev1 "github.com/tektoncd/pipeline/pkg/apis/pipeline/v1"
	prresources "github.com/tektoncd/pipeline/pkg/reconciler/pipelinerun/resources"
	trresources "github.com/tektoncd/pipeline/pkg/reconciler/taskrun/resources"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"knative.dev/pkg/apis"
	"sigs.k8s.io/yaml"
)

const (
	triggerAPIVersion = "config.lighthouse.jenkins-x.io/v1alpha1"
	triggerKind       = "TriggerConfig"
	tektonAPIVersion  = "tekton.dev/v1"
)

type options struct {
	owner, repo, cloneURI string
	baseRef, baseSHA      string
	pullNumber            int
	pullSHA, pullRef      string
	branches              string
}

type step struct {
	Task       string            `json:"task"`
	Name       string            `json:"name"`
	Image      string            `json:"image"`
	WorkingDir string            `json:"workingDir"`
	Script     string            `json:"script"`
	Command    []string          `json:"command"`
	Args       []string          `json:"args"`
	Env        map[string]string `json:"env"`
	OnError    string            `json:"onError"`
}

type jobReport struct {
	Kind               string            `json:"kind"`
	Name               string            `json:"name"`
	Context            string            `json:"context"`
	Source             string            `json:"source"`
	Agent              string            `json:"agent"`
	AlwaysRun          bool              `json:"alwaysRun"`
	Optional           bool              `json:"optional"`
	Trigger            string            `json:"trigger"`
	RerunCommand       string            `json:"rerunCommand"`
	RunsFor            map[string]bool   `json:"runsFor"`
	Params             map[string]string `json:"params"`
	ServiceAccountName string            `json:"serviceAccountName"`
	Timeout            string            `json:"timeout"`
	Steps              []step            `json:"steps"`
}

type report struct {
	TriggerFiles []string    `json:"triggerFiles"`
	Jobs         []jobReport `json:"jobs"`
}

type checker struct {
	root     string
	opts     options
	problems []string
}

func (c *checker) problem(where, format string, args ...any) {
	for _, line := range strings.Split(strings.TrimSpace(fmt.Sprintf(format, args...)), "\n") {
		c.problems = append(c.problems, where+": "+strings.TrimSpace(line))
	}
}

func (c *checker) rel(path string) string {
	if r, err := filepath.Rel(c.root, path); err == nil {
		return filepath.ToSlash(r)
	}
	return path
}

// triggerFiles lists the trigger files as Lighthouse's inrepo.LoadTriggerConfig finds them.
func (c *checker) triggerFiles() []string {
	dir := filepath.Join(c.root, ".lighthouse")
	entries, err := os.ReadDir(dir)
	if err != nil {
		c.problem(".lighthouse", "cannot read the directory: %v", err)
		return nil
	}
	var files []string
	for _, entry := range entries {
		name := entry.Name()
		switch {
		case strings.HasPrefix(name, "."):
		case entry.IsDir():
			path := filepath.Join(dir, name, "triggers.yaml")
			if _, err := os.Stat(path); err == nil {
				files = append(files, path)
			}
		case name == "triggers.yaml":
			files = append(files, filepath.Join(dir, name))
		}
	}
	if len(files) == 0 {
		c.problem(".lighthouse", "no triggers.yaml found")
	}
	return files
}

// source reads a job's `source:` file, checks it as Tekton would, and loads it as Lighthouse does.
func (c *checker) source(where, dir string, base *job.Base) *pipelinev1.PipelineRun {
	if base.SourcePath == "" {
		c.problem(where, "job %q names no source file", base.Name)
		return nil
	}
	path := filepath.Join(dir, filepath.FromSlash(base.SourcePath))
	if r, err := filepath.Rel(c.root, path); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		c.problem(where, "job %q: source %q is outside the repository", base.Name, base.SourcePath)
		return nil
	}
	info, err := os.Lstat(path)
	if err != nil || !info.Mode().IsRegular() {
		c.problem(where, "job %q: source %q is not a file in the repository", base.Name, base.SourcePath)
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		c.problem(where, "job %q: %v", base.Name, err)
		return nil
	}
	file := c.rel(path)
	var strict pipelinev1.PipelineRun
	if err := yaml.UnmarshalStrict(data, &strict); err != nil {
		c.problem(file, "not a strict tekton.dev/v1 PipelineRun: %v", err)
		return nil
	}
	if strict.APIVersion != tektonAPIVersion || strict.Kind != "PipelineRun" {
		c.problem(file, "apiVersion/kind is %s %s, expected %s PipelineRun", strict.APIVersion, strict.Kind, tektonAPIVersion)
	}
	if strict.Spec.PipelineSpec == nil {
		c.problem(file, "spec.pipelineSpec: the pipeline must be embedded")
	}
	// As the webhook does on create: defaulting, then validation (the installation's default feature flags).
	ctx := apis.WithinCreate(context.Background())
	defaulted := strict.DeepCopy()
	defaulted.SetDefaults(ctx)
	if err := defaulted.Validate(ctx); err != nil {
		c.problem(file, "Tekton validation: %v", err)
	}
	resolver := &inrepo.UsesResolver{
		OwnerName: c.opts.owner,
		RepoName:  c.opts.repo,
		SHA:       c.opts.baseSHA,
		Dir:       filepath.Dir(base.SourcePath),
		Message:   "in " + file,
	}
	loaded, err := inrepo.LoadTektonResourceAsPipelineRun(resolver, data)
	if err != nil {
		c.problem(file, "Lighthouse cannot load it: %v", err)
		return nil
	}
	base.PipelineRunSpec = &loaded.Spec
	if base.Agent == "" {
		base.Agent = job.TektonPipelineAgent
	}
	return loaded
}

func (c *checker) refs(presubmit bool) v1alpha1.Refs {
	refs := v1alpha1.Refs{
		Org:      c.opts.owner,
		Repo:     c.opts.repo,
		BaseRef:  c.opts.baseRef,
		BaseSHA:  c.opts.baseSHA,
		CloneURI: c.opts.cloneURI,
	}
	if presubmit {
		refs.Pulls = []v1alpha1.Pull{{Number: c.opts.pullNumber, SHA: c.opts.pullSHA, Ref: c.opts.pullRef}}
	}
	return refs
}

// run gives the PipelineRun Lighthouse's parameter values for the job and lets Tekton's reconcilers
// substitute them, as they do when the PipelineRun and its TaskRuns start.
func (c *checker) run(where string, spec v1alpha1.LighthouseJobSpec, loaded *pipelinev1.PipelineRun, jr *jobReport) {
	env := spec.GetEnvVars()
	env[v1alpha1.BuildIDEnv] = "1"
	env[v1alpha1.RepoURLEnv] = spec.Refs.CloneURI
	var pullRefs []string
	for _, pull := range spec.Refs.Pulls {
		if pull.Ref != "" {
			pullRefs = append(pullRefs, pull.Ref)
		}
	}
	if len(pullRefs) > 0 {
		env[v1alpha1.PullPullRefEnv] = strings.Join(pullRefs, " ")
	}
	pr := &pipelinev1.PipelineRun{
		TypeMeta:   metav1.TypeMeta{APIVersion: tektonAPIVersion, Kind: "PipelineRun"},
		ObjectMeta: metav1.ObjectMeta{Name: jobutil.GenerateName(&spec) + "1", Namespace: "jx"},
		Spec:       *loaded.Spec.DeepCopy(),
	}
	keys := make([]string, 0, len(env))
	for key := range env {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	jr.Params = map[string]string{}
	for _, key := range keys {
		value := pipelinev1.ParamValue{Type: pipelinev1.ParamTypeString, StringVal: env[key]}
		found := false
		for i := range pr.Spec.Params {
			if pr.Spec.Params[i].Name == key {
				pr.Spec.Params[i].Value, found = value, true
			}
		}
		if !found {
			pr.Spec.Params = append(pr.Spec.Params, pipelinev1.Param{Name: key, Value: value})
		}
	}
	ctx := apis.WithinCreate(context.Background())
	pr.SetDefaults(ctx)
	if err := pr.Validate(ctx); err != nil {
		c.problem(where, "the PipelineRun Lighthouse creates is invalid: %v", err)
		return
	}
	jr.ServiceAccountName = pr.Spec.TaskRunTemplate.ServiceAccountName
	if pr.Spec.Timeouts != nil && pr.Spec.Timeouts.Pipeline != nil {
		jr.Timeout = pr.Spec.Timeouts.Pipeline.Duration.String()
	}
	ps := pr.Spec.PipelineSpec
	if err := prresources.ValidateRequiredParametersProvided(&ps.Params, &pr.Spec.Params); err != nil {
		c.problem(where, "%v", err)
	}
	if err := prresources.ValidateParamTypesMatching(ps, pr); err != nil {
		c.problem(where, "%v", err)
	}
	for _, p := range pr.Spec.Params {
		jr.Params[p.Name] = p.Value.StringVal
	}
	ps = prresources.ApplyParameters(ctx, ps.DeepCopy(), pr)
	for _, task := range append(append([]pipelinev1.PipelineTask{}, ps.Tasks...), ps.Finally...) {
		if task.TaskSpec == nil {
			c.problem(where, "task %q: only embedded taskSpecs are checked", task.Name)
			continue
		}
		ts := task.TaskSpec.TaskSpec.DeepCopy()
		tr := &pipelinev1.TaskRun{
			ObjectMeta: metav1.ObjectMeta{Name: pr.Name + "-" + task.Name, Namespace: pr.Namespace},
			Spec:       pipelinev1.TaskRunSpec{Params: task.Params, TaskSpec: ts},
		}
		ts = trresources.ApplyParameters(ts, tr, ts.Params...)
		steps, err := pipelinev1.MergeStepsWithStepTemplate(ts.StepTemplate, ts.Steps)
		if err != nil {
			c.problem(where, "task %q: %v", task.Name, err)
			continue
		}
		for _, s := range steps {
			out := step{Task: task.Name, Name: s.Name, Image: s.Image, WorkingDir: s.WorkingDir, Script: s.Script,
				Command: s.Command, Args: s.Args, Env: map[string]string{}, OnError: string(s.OnError)}
			for _, e := range s.Env {
				if e.ValueFrom != nil {
					out.Env[e.Name] = "<valueFrom>"
				} else {
					out.Env[e.Name] = e.Value
				}
			}
			all := append(append([]string{s.Image, s.WorkingDir, s.Script}, s.Command...), s.Args...)
			for _, value := range out.Env {
				all = append(all, value)
			}
			for _, text := range all {
				if strings.Contains(text, "$(params.") {
					c.problem(where, "task %q step %q: a parameter is left unresolved: %q", task.Name, s.Name, text)
				}
			}
			jr.Steps = append(jr.Steps, out)
		}
	}
}

func (c *checker) check() *report {
	out := &report{Jobs: []jobReport{}}
	var combined *triggerconfig.Config
	sources := map[string]*pipelinev1.PipelineRun{} // kind/name -> loaded
	seen := map[string]string{}
	for _, path := range c.triggerFiles() {
		where := c.rel(path)
		out.TriggerFiles = append(out.TriggerFiles, where)
		data, err := os.ReadFile(path)
		if err != nil {
			c.problem(where, "%v", err)
			continue
		}
		cfg := &triggerconfig.Config{}
		if err := yaml.UnmarshalStrict(data, cfg); err != nil {
			c.problem(where, "not a strict %s: %v", triggerKind, err)
			continue
		}
		if cfg.APIVersion != triggerAPIVersion || cfg.Kind != triggerKind {
			c.problem(where, "apiVersion/kind is %s %s, expected %s %s", cfg.APIVersion, cfg.Kind, triggerAPIVersion, triggerKind)
		}
		if len(cfg.Spec.Periodics)+len(cfg.Spec.Deployments) > 0 {
			c.problem(where, "periodics and deployments are not checked")
		}
		dir := filepath.Dir(path)
		for i := range cfg.Spec.Presubmits {
			p := &cfg.Spec.Presubmits[i]
			key := "presubmit/" + p.Name
			if other, dup := seen[key]; dup {
				c.problem(where, "duplicate presubmit %s (also in %s)", p.Name, other)
			}
			seen[key] = where
			if loaded := c.source(where, dir, &p.Base); loaded != nil {
				sources[key] = loaded
			}
		}
		for i := range cfg.Spec.Postsubmits {
			p := &cfg.Spec.Postsubmits[i]
			key := "postsubmit/" + p.Name
			if other, dup := seen[key]; dup {
				c.problem(where, "duplicate postsubmit %s (also in %s)", p.Name, other)
			}
			seen[key] = where
			if loaded := c.source(where, dir, &p.Base); loaded != nil {
				sources[key] = loaded
			}
		}
		combined = merge.CombineConfigs(combined, cfg)
	}
	if combined == nil || len(c.problems) > 0 {
		return out
	}
	// What Lighthouse does with an in-repository configuration: merge it, then default and validate.
	lighthouse := &config.Config{}
	pluginsCfg := &plugins.Configuration{}
	if err := merge.ConfigMerge(lighthouse, pluginsCfg, combined, c.opts.owner, c.opts.repo); err != nil {
		c.problem(".lighthouse", "Lighthouse rejects the configuration: %v", err)
		return out
	}
	repoKey := c.opts.owner + "/" + c.opts.repo
	branches := strings.Split(c.opts.branches, ",")
	logger := logrus.NewEntry(logrus.New())
	logger.Logger.SetOutput(io.Discard)
	for _, p := range lighthouse.Presubmits[repoKey] {
		jr := jobReport{Kind: "presubmit", Name: p.Name, Context: p.Context, Source: p.SourcePath, Agent: p.Agent,
			AlwaysRun: p.AlwaysRun, Optional: p.Optional, Trigger: p.Trigger, RerunCommand: p.RerunCommand,
			RunsFor: map[string]bool{}}
		for _, branch := range branches {
			jr.RunsFor[branch] = p.CouldRun(branch)
		}
		spec := jobutil.PresubmitSpec(logger, p, c.refs(true))
		c.run("presubmit "+p.Name, spec, sources["presubmit/"+p.Name], &jr)
		out.Jobs = append(out.Jobs, jr)
	}
	for _, p := range lighthouse.Postsubmits[repoKey] {
		jr := jobReport{Kind: "postsubmit", Name: p.Name, Context: p.Context, Source: p.SourcePath, Agent: p.Agent,
			RunsFor: map[string]bool{}}
		for _, branch := range branches {
			jr.RunsFor[branch] = p.CouldRun(branch)
		}
		spec := jobutil.PostsubmitSpec(logger, p, c.refs(false))
		c.run("postsubmit "+p.Name, spec, sources["postsubmit/"+p.Name], &jr)
		out.Jobs = append(out.Jobs, jr)
	}
	return out
}

func main() {
	var opts options
	flags := flag.NewFlagSet("jx-pipeline-check", flag.ContinueOnError)
	flags.StringVar(&opts.owner, "owner", "acme", "repository owner (REPO_OWNER)")
	flags.StringVar(&opts.repo, "repo", "ml-config", "repository name (REPO_NAME)")
	flags.StringVar(&opts.cloneURI, "clone-uri", "https://github.com/acme/ml-config.git", "clone URL (REPO_URL)")
	flags.StringVar(&opts.baseRef, "base-ref", "main", "the base branch (PULL_BASE_REF)")
	flags.StringVar(&opts.baseSHA, "base-sha", strings.Repeat("b", 40), "the base commit (PULL_BASE_SHA)")
	flags.IntVar(&opts.pullNumber, "pull-number", 1, "pull request number (PULL_NUMBER)")
	flags.StringVar(&opts.pullSHA, "pull-sha", strings.Repeat("c", 40), "pull request head commit (PULL_PULL_SHA)")
	flags.StringVar(&opts.pullRef, "pull-ref", "refs/pull/1/head", "pull request ref (PULL_PULL_REF)")
	flags.StringVar(&opts.branches, "branches", "main", "comma-separated branches to report runsFor for")
	if err := flags.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if flags.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: jx-pipeline-check [flags] REPOSITORY")
		os.Exit(2)
	}
	logrus.SetOutput(io.Discard) // Lighthouse logs through the standard logger; the report is the output
	root, err := filepath.Abs(flags.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	c := &checker{root: root, opts: opts}
	result := c.check()
	if len(c.problems) > 0 {
		for _, p := range c.problems {
			fmt.Fprintln(os.Stderr, p)
		}
		os.Exit(1)
	}
	encoded, err := json.MarshalIndent(result, "", "  ")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	fmt.Println(string(encoded))
}
