// Package alerttest builds the alerts the sink tests deliver: the seed
// rule's DCOM/MMC sequence, a network event then the process mmc.exe
// started, as the correlator would raise it.
package alerttest
