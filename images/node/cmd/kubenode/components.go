package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/component-base/cli"
	kubectl "k8s.io/kubectl/pkg/cmd"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	proxy "k8s.io/kubernetes/cmd/kube-proxy/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kubelet "k8s.io/kubernetes/cmd/kubelet/app"
)

// components are the upstream commands this binary can become, chosen by the
// name it is called by (a symlink) or by its first argument.
var components = map[string]func() *cobra.Command{
	"kube-apiserver":          apiserver.NewAPIServerCommand,
	"kube-controller-manager": controllermanager.NewControllerManagerCommand,
	"kube-scheduler":          func() *cobra.Command { return scheduler.NewSchedulerCommand() },
	"kubelet":                 func() *cobra.Command { return kubelet.NewKubeletCommand(context.Background()) },
	"kube-proxy":              proxy.NewProxyCommand,
	"kubectl":                 func() *cobra.Command { return kubectl.NewDefaultKubectlCommand() },
}

func run() {
	name := filepath.Base(os.Args[0])
	if _, ok := components[name]; !ok && len(os.Args) > 1 {
		if _, ok := components[os.Args[1]]; ok {
			name = os.Args[1]
			os.Args = os.Args[1:]
		} else if os.Args[1] == "server" {
			os.Exit(serverMain(os.Args[2:]))
		} else if os.Args[1] == "agent" {
			os.Exit(agentMain(os.Args[2:]))
		}
	}
	newCommand, ok := components[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "usage: kubenode server [--disable=NAME]... | kubenode agent --server URL --token TOKEN | kubenode COMPONENT [FLAGS] (components: kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl)\n")
		os.Exit(2)
	}
	os.Exit(cli.Run(newCommand()))
}
