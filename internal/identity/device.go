package identity

import (
	"context"
	"fmt"
	"time"

	"github.com/yuncan/yuncan"
)

// timeTouch is how stale last-seen may get before a request updates it.
const timeTouch = time.Minute

// RegisterDevice records a device without an account and returns it with
// the token the app sends from then on (as X-Device-Token). When the
// caller is logged in, the device is bound to the account at once.
func (s *Service) RegisterDevice(ctx context.Context, info DeviceInfo, userID string) (Device, string, error) {
	if err := info.Validate(); err != nil {
		return Device{}, "", err
	}
	now := s.now()
	tok, hash := newToken("ycd_")
	d := Device{ID: newID(), UserID: userID, Platform: info.Platform, Model: info.Model, OSVersion: info.OSVersion,
		AppVersion: info.AppVersion, PushToken: info.PushToken, CreatedAt: now, LastSeenAt: now}
	if err := s.store.CreateDevice(ctx, DeviceRecord{Device: d, TokenHash: hash}); err != nil {
		return Device{}, "", fmt.Errorf("identity: register device: %w", err)
	}
	return d, tok, nil
}

// DeviceByToken resolves a device token and marks the device seen.
// Unauthenticated when the token is unknown (or the device expired).
func (s *Service) DeviceByToken(ctx context.Context, token string) (Device, error) {
	if token == "" {
		return Device{}, &yuncan.Error{Code: yuncan.Unauthenticated, Reason: "device_unknown", Message: "register the device first"}
	}
	d, err := s.store.DeviceByTokenHash(ctx, hashToken(token))
	if yuncan.ErrorCode(err) == yuncan.NotFound {
		return Device{}, &yuncan.Error{Code: yuncan.Unauthenticated, Reason: "device_unknown", Message: "the device token is not known; register the device again"}
	}
	if err != nil {
		return Device{}, fmt.Errorf("identity: device: %w", err)
	}
	if now := s.now(); now.Sub(d.LastSeenAt) > timeTouch {
		d.LastSeenAt = now
		if err := s.store.UpdateDevice(ctx, d); err != nil {
			return Device{}, fmt.Errorf("identity: device: %w", err)
		}
	}
	return d, nil
}

// UpdateDevice replaces what the device reports about itself (a new push
// token after reinstalling, a new app version).
func (s *Service) UpdateDevice(ctx context.Context, token string, info DeviceInfo) (Device, error) {
	if err := info.Validate(); err != nil {
		return Device{}, err
	}
	d, err := s.DeviceByToken(ctx, token)
	if err != nil {
		return Device{}, err
	}
	d.Platform, d.Model, d.OSVersion, d.AppVersion, d.PushToken = info.Platform, info.Model, info.OSVersion, info.AppVersion, info.PushToken
	d.LastSeenAt = s.now()
	if err := s.store.UpdateDevice(ctx, d); err != nil {
		return Device{}, fmt.Errorf("identity: update device: %w", err)
	}
	return d, nil
}

// Devices lists the devices bound to the user.
func (s *Service) Devices(ctx context.Context, userID string) ([]Device, error) {
	return s.store.DevicesByUser(ctx, userID)
}
