// Package registration is what node-driver-registrar does, done by the
// driver itself: it serves the kubelet's plugin registration API
// (k8s.io/kubelet/pkg/apis/pluginregistration/v1) on a socket in the
// kubelet's plugins_registry directory. The kubelet's plugin watcher finds
// the socket, calls GetInfo (type CSIPlugin, the driver's name, the path of
// the driver's own socket, the CSI versions), registers the driver (it then
// calls NodeGetInfo on the driver and records it in the node's CSINode
// object) and reports the outcome with NotifyRegistrationStatus.
package registration

import (
	"context"
	"log"
	"net"
	"os"
	"path/filepath"
	"sync"

	"google.golang.org/grpc"
	registerapi "k8s.io/kubelet/pkg/apis/pluginregistration/v1"
)

// Server answers the kubelet for one CSI driver.
type Server struct {
	registerapi.UnimplementedRegistrationServer

	DriverName string
	// Endpoint is the driver's socket as the kubelet reaches it.
	Endpoint string
	Versions []string

	mu         sync.Mutex
	registered bool
	lastError  string
	notified   chan struct{} // closed at the first NotifyRegistrationStatus
	once       sync.Once
}

// New returns a server for a CSI driver (versions: "1.0.0").
func New(driverName, endpoint string) *Server {
	return &Server{DriverName: driverName, Endpoint: endpoint, Versions: []string{"1.0.0"}, notified: make(chan struct{})}
}

func (s *Server) GetInfo(ctx context.Context, req *registerapi.InfoRequest) (*registerapi.PluginInfo, error) {
	log.Printf("kubelet asked for the plugin's info: %s, endpoint %s, versions %v", s.DriverName, s.Endpoint, s.Versions)
	return &registerapi.PluginInfo{
		Type:              registerapi.CSIPlugin,
		Name:              s.DriverName,
		Endpoint:          s.Endpoint,
		SupportedVersions: s.Versions,
	}, nil
}

func (s *Server) NotifyRegistrationStatus(ctx context.Context, st *registerapi.RegistrationStatus) (*registerapi.RegistrationStatusResponse, error) {
	s.mu.Lock()
	s.registered, s.lastError = st.PluginRegistered, st.Error
	s.mu.Unlock()
	if st.PluginRegistered {
		log.Printf("kubelet registered %s", s.DriverName)
	} else {
		log.Printf("kubelet did NOT register %s: %s", s.DriverName, st.Error)
	}
	s.once.Do(func() { close(s.notified) })
	return &registerapi.RegistrationStatusResponse{}, nil
}

// Status is the last outcome the kubelet reported.
func (s *Server) Status() (registered bool, errMsg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.registered, s.lastError
}

// Notified is closed once the kubelet has reported an outcome.
func (s *Server) Notified() <-chan struct{} { return s.notified }

// Serve listens on socket (replacing a stale one) until ctx ends. The
// socket's name must not begin with a dot: the kubelet ignores those.
func (s *Server) Serve(ctx context.Context, socket string) error {
	if err := os.MkdirAll(filepath.Dir(socket), 0o750); err != nil {
		return err
	}
	if err := os.Remove(socket); err != nil && !os.IsNotExist(err) {
		return err
	}
	l, err := net.Listen("unix", socket)
	if err != nil {
		return err
	}
	srv := grpc.NewServer()
	registerapi.RegisterRegistrationServer(srv, s)
	stopped := make(chan struct{})
	go func() {
		<-ctx.Done()
		srv.Stop()
		// Removing the socket tells the kubelet the plugin is gone.
		_ = os.Remove(socket)
		close(stopped)
	}()
	log.Printf("registration socket %s serving for %s", socket, s.DriverName)
	err = srv.Serve(l)
	if ctx.Err() != nil {
		<-stopped
		return nil
	}
	return err
}
