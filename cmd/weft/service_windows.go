//go:build windows

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"
)

// stopWait bounds how long stop waits for the service to drain and exit:
// the drain itself may take shutdown_timeout, 30s unless weft.yaml says
// otherwise (a longer one outlasts this wait, not the stop).
const stopWait = defaultShutdownTimeout + 30*time.Second

func (a *app) serviceCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "service install|uninstall|start|stop",
		Short: "Run weft run as a Windows service",
		Long: `service registers "weft run" with the Windows service manager, so that it
starts with the machine and restarts after a failure, and starts, stops or
removes it. Run it from an elevated prompt.

  weft service install --config C:\ProgramData\weft\weft.yaml --data-dir C:\ProgramData\weft\data
  weft service start
  weft service stop
  weft service uninstall

The service runs as LocalSystem, which can read every event log channel,
ForwardedEvents included. Its log goes to --log-file (default weft.log
beside the config file).`,
		Args: cobra.NoArgs,
	}
	cmd.PersistentFlags().StringVar(&name, "name", "weft", "the service's name")

	var configPath, dataDir, logFile string
	install := &cobra.Command{
		Use:   "install --config weft.yaml",
		Short: "Register the service (automatic start, restart on failure)",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if configPath == "" {
				return usageError("--config is required")
			}
			return a.installService(name, configPath, dataDir, logFile)
		},
	}
	install.Flags().StringVarP(&configPath, "config", "c", "", "the weft.yaml the service runs")
	install.Flags().StringVar(&dataDir, "data-dir", "", "keep the embedded NATS server's streams in this folder")
	install.Flags().StringVar(&logFile, "log-file", "", "where the service logs (default weft.log beside the config)")

	run := &cobra.Command{
		Use:    "run",
		Short:  "What the service manager starts",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runService(name, configPath, dataDir, logFile)
		},
	}
	run.Flags().StringVarP(&configPath, "config", "c", "", "the weft.yaml to run")
	run.Flags().StringVar(&dataDir, "data-dir", "", "keep the embedded NATS server's streams in this folder")
	run.Flags().StringVar(&logFile, "log-file", "", "where to log")

	cmd.AddCommand(install, run,
		&cobra.Command{
			Use: "uninstall", Short: "Stop the service if it runs, and remove it", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error { return a.withService(name, a.uninstallService) },
		},
		&cobra.Command{
			Use: "start", Short: "Start the service", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				return a.withService(name, func(s *mgr.Service) error {
					if err := s.Start(); err != nil {
						return fmt.Errorf("start service %s: %w", name, err)
					}
					fmt.Fprintf(a.stdout, "service %s started\n", name)
					return nil
				})
			},
		},
		&cobra.Command{
			Use: "stop", Short: "Stop the service and wait until its events are drained", Args: cobra.NoArgs,
			RunE: func(*cobra.Command, []string) error {
				return a.withService(name, func(s *mgr.Service) error {
					if err := stopService(s); err != nil {
						return fmt.Errorf("stop service %s: %w", name, err)
					}
					fmt.Fprintf(a.stdout, "service %s stopped\n", name)
					return nil
				})
			},
		},
	)
	return cmd
}

func (a *app) installService(name, configPath, dataDir, logFile string) error {
	configPath, err := filepath.Abs(configPath)
	if err != nil {
		return err
	}
	if _, err := loadConfig(configPath); err != nil {
		return err
	}
	if logFile == "" {
		logFile = filepath.Join(filepath.Dir(configPath), "weft.log")
	}
	args := []string{"service", "run", "--name", name, "--config", configPath}
	for flag, path := range map[string]string{"--data-dir": dataDir, "--log-file": logFile} {
		if path == "" {
			continue
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return err
		}
		args = append(args, flag, abs)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager (run from an elevated prompt): %w", err)
	}
	defer m.Disconnect()
	if s, err := m.OpenService(name); err == nil {
		s.Close()
		return fmt.Errorf("service %s is already installed; uninstall it first", name)
	}
	s, err := m.CreateService(name, exe, mgr.Config{
		DisplayName: "weft",
		Description: "weft: Windows event logs to detections (" + configPath + ")",
		StartType:   mgr.StartAutomatic,
	}, args...)
	if err != nil {
		return fmt.Errorf("install service %s: %w", name, err)
	}
	defer s.Close()
	restart := mgr.RecoveryAction{Type: mgr.ServiceRestart, Delay: 10 * time.Second}
	if err := s.SetRecoveryActions([]mgr.RecoveryAction{restart, restart, restart}, 24*60*60); err != nil {
		return fmt.Errorf("service %s: restart on failure: %w", name, err)
	}
	fmt.Fprintf(a.stdout, "service %s installed: %s %v\nstart it with: weft service start\n", name, exe, args)
	return nil
}

func (a *app) withService(name string, do func(*mgr.Service) error) error {
	m, err := mgr.Connect()
	if err != nil {
		return fmt.Errorf("service manager (run from an elevated prompt): %w", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService(name)
	if err != nil {
		return fmt.Errorf("service %s: %w", name, err)
	}
	defer s.Close()
	return do(s)
}

func (a *app) uninstallService(s *mgr.Service) error {
	if err := stopService(s); err != nil {
		return fmt.Errorf("stop service %s: %w", s.Name, err)
	}
	if err := s.Delete(); err != nil {
		return fmt.Errorf("remove service %s: %w", s.Name, err)
	}
	fmt.Fprintf(a.stdout, "service %s removed\n", s.Name)
	return nil
}

// stopService asks the service to stop and waits until it has.
func stopService(s *mgr.Service) error {
	st, err := s.Query()
	if err != nil {
		return err
	}
	if st.State == svc.Stopped {
		return nil
	}
	if st.State != svc.StopPending {
		if st, err = s.Control(svc.Stop); err != nil {
			return err
		}
	}
	deadline := time.Now().Add(stopWait)
	for st.State != svc.Stopped {
		if time.Now().After(deadline) {
			return fmt.Errorf("still %d after %v", st.State, stopWait)
		}
		time.Sleep(300 * time.Millisecond)
		if st, err = s.Query(); err != nil {
			return err
		}
	}
	return nil
}

// runService is what the service manager starts: weft run, stopped by the
// manager instead of a signal.
func (a *app) runService(name, configPath, dataDir, logFile string) error {
	isService, err := svc.IsWindowsService()
	if err != nil {
		return err
	}
	if !isService {
		return usageError("weft service run is started by the service manager; to run in the foreground use weft run --config %s", configPath)
	}
	if logFile != "" {
		f, err := os.OpenFile(logFile, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		a.stderr = f
		if err := a.setupLog(); err != nil {
			return err
		}
	}
	cfg, err := loadConfig(configPath)
	if err != nil {
		a.log.Error().Err(err).Msg("service not started")
		return err
	}
	if dataDir != "" {
		cfg.Bus.DataDir = dataDir
	}
	if err := svc.Run(name, &serviceHandler{a: a, cfg: cfg}); err != nil {
		a.log.Error().Err(err).Msg("service")
		return err
	}
	return nil
}

type serviceHandler struct {
	a   *app
	cfg *config
}

// Execute runs weft until the manager asks it to stop. A run that ends by
// itself is a failure, so that the manager restarts the service.
func (h *serviceHandler) Execute(_ []string, reqs <-chan svc.ChangeRequest, status chan<- svc.Status) (bool, uint32) {
	status <- svc.Status{State: svc.StartPending}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- h.a.run(ctx, h.cfg) }()
	running := svc.Status{State: svc.Running, Accepts: svc.AcceptStop | svc.AcceptShutdown}
	status <- running
	for {
		select {
		case err := <-done:
			if err == nil {
				err = errors.New("weft run ended by itself")
			}
			h.a.log.Error().Err(err).Msg("service failed")
			return false, uint32(windows.ERROR_SERVICE_SPECIFIC_ERROR)
		case r := <-reqs:
			switch r.Cmd {
			case svc.Interrogate:
				status <- r.CurrentStatus
			case svc.Stop, svc.Shutdown:
				status <- svc.Status{State: svc.StopPending, WaitHint: uint32(stopWait / time.Millisecond)}
				cancel()
				if err := <-done; err != nil {
					h.a.log.Error().Err(err).Msg("service stopped with an error")
					return false, uint32(windows.ERROR_SERVICE_SPECIFIC_ERROR)
				}
				return false, 0
			default:
				status <- running
			}
		}
	}
}
