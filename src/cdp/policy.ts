// The client→browser CDP policy: every method of Chromium's protocol, classified.
//
// Default deny. A method is forwarded only when this table lists it: as allowed (it acts within
// the session's own browser and reaches nothing the session does not own), as checked (a named
// function in policy-checks.ts inspects its params and the re-serialised result is forwarded),
// or it is refused with the reason given. A method Chromium adds later, or a made-up one, is
// refused until someone classifies it here. `BrowserGrid.*` commands never reach Chromium: the
// gateway answers them itself.
//
// Threat model (Chromium's DevTools security model): a CDP client is as powerful as the
// browser's user. Inside its own session that is the product; what it must not reach is the
// container around the browser (files, other processes' channels, the network around the egress
// proxy) or a CDP channel that does not pass this policy.
//
// Classified against the protocol of the browser images' Chromium (GET /json/protocol, both
// flavours report the same); cdp-policy.e2e.test.ts asserts that every method it reports is
// listed. docs/security.md renders this table (policyMarkdown), and a test keeps it in sync.
import type { CheckName } from "./policy-checks";

export type Rule = { kind: "allow" } | { kind: "check"; check: CheckName; why: string } | { kind: "refuse"; why: string };

/** Methods that act within the session's own browser, per domain (space-separated). */
export const ALLOWED: Readonly<Record<string, string>> = {
  Accessibility: "disable enable getPartialAXTree getFullAXTree getRootAXNode getAXNodeAndAncestors getChildAXNodes queryAXTree",
  Ads: "getAdMetrics getAdScripts",
  Animation: "disable enable getCurrentTime getPlaybackRate releaseAnimations resolveAnimation seekAnimations setPaused setPlaybackRate setTiming",
  Audits: "getEncodedResponse disable enable checkFormsIssues",
  Autofill: "trigger setAddresses disable enable",
  BackgroundService: "startObserving stopObserving setRecording clearEvents",
  BluetoothEmulation: "enable setSimulatedCentralState disable simulatePreconnectedPeripheral simulateAdvertisement simulateGATTOperationResponse simulateCharacteristicOperationResponse simulateDescriptorOperationResponse addService removeService addCharacteristic removeCharacteristic addDescriptor removeDescriptor simulateGATTDisconnection",
  Browser: "setPermission grantPermissions resetPermissions cancelDownload close crash crashGpuProcess getVersion addMockCamera getHistograms getHistogram getWindowBounds getWindowForTarget setWindowBounds setContentsSize setDockTile addPrivacySandboxEnrollmentOverride getGlobalPrivacyControl setGlobalPrivacyControl",
  CacheStorage: "deleteCache deleteEntry requestCacheNames requestCachedResponse requestEntries",
  Console: "clearMessages disable enable",
  CrashReportContext: "getEntries",
  CSS: "addRule collectClassNames createStyleSheet disable enable forcePseudoState forceStartingStyle getBackgroundColors getComputedStyleForNode resolveValues getLonghandProperties getInlineStylesForNode getAnimatedStylesForNode getMatchedStylesForNode getEnvironmentVariables getMediaQueries getPlatformFontsForNode getStyleSheetText getLayersForNode getLocationForSelector trackComputedStyleUpdatesForNode trackComputedStyleUpdates takeComputedStyleUpdates setEffectivePropertyValueForNode setPropertyRulePropertyName setKeyframeKey setMediaText setContainerQueryText setContainerQueryConditionText setSupportsText setNavigationText setScopeText setRuleSelector setStyleSheetText setStyleTexts startRuleUsageTracking stopRuleUsageTracking takeCoverageDelta setLocalFontsEnabled",
  Debugger: "continueToLocation disable enable evaluateOnCallFrame getPossibleBreakpoints getScriptSource disassembleWasmModule nextWasmDisassemblyChunk getWasmBytecode getStackTrace pause pauseOnAsyncCall removeBreakpoint restartFrame resume searchInContent setAsyncCallStackDepth setBlackboxExecutionContexts setBlackboxPatterns setBlackboxedRanges setBreakpoint setInstrumentationBreakpoint setBreakpointByUrl setBreakpointOnFunctionCall setBreakpointsActive setPauseOnExceptions setReturnValue setScriptSource setSkipAllPauses setVariableValue stepInto stepOut stepOver",
  DeviceAccess: "enable disable selectPrompt cancelPrompt",
  DeviceOrientation: "clearDeviceOrientationOverride setDeviceOrientationOverride",
  DigitalCredentials: "setVirtualWalletBehavior",
  DOM: "collectClassNamesFromSubtree copyTo describeNode scrollIntoViewIfNeeded disable discardSearchResults enable focus getAttributes getBoxModel getContentQuads getDocument getFlattenedDocument getNodesForSubtreeByStyle getNodeForLocation getOuterHTML getRelayoutBoundary getSearchResults hideHighlight highlightNode highlightRect markUndoableState moveTo performSearch pushNodeByPathToFrontend pushNodesByBackendIdsToFrontend querySelector querySelectorAll getTopLayerElements getElementByRelation redo removeAttribute removeNode requestChildNodes requestNode resolveNode setAttributeValue setAttributesAsText setNodeStackTracesEnabled getNodeStackTraces getFileInfo getDetachedDomNodes setInspectedNode setNodeName setNodeValue setOuterHTML undo getFrameOwner getContainerForNode getQueryingDescendantsForContainer getAnchorElement forceShowPopover getImplicitAnchorCandidates forceShowInterest setTextMarker clearTextMarkers",
  DOMDebugger: "getEventListeners removeDOMBreakpoint removeEventListenerBreakpoint removeInstrumentationBreakpoint removeXHRBreakpoint setBreakOnCSPViolation setDOMBreakpoint setEventListenerBreakpoint setInstrumentationBreakpoint setXHRBreakpoint",
  DOMSnapshot: "disable enable getSnapshot captureSnapshot",
  DOMStorage: "clear disable enable getDOMStorageItems removeDOMStorageItem setDOMStorageItem",
  Emulation: "canEmulate clearDeviceMetricsOverride clearGeolocationOverride resetPageScaleFactor setFocusEmulationEnabled setAutoDarkModeOverride setCPUThrottlingRate setDefaultBackgroundColorOverride setSafeAreaInsetsOverride setVirtualKeyboardGeometryOverride setDeviceMetricsOverride setDevicePostureOverride clearDevicePostureOverride setDisplayFeaturesOverride clearDisplayFeaturesOverride setScrollbarsHidden setDocumentCookieDisabled setEmitTouchEventsForMouse setEmulatedMedia setEmulatedVisionDeficiency setEmulatedOSTextScale setGeolocationOverride getOverriddenSensorInformation setSensorOverrideEnabled setSensorOverrideReadings setPressureSourceOverrideEnabled setPressureStateOverride setIdleOverride clearIdleOverride setNavigatorOverrides setPageScaleFactor setScriptExecutionDisabled setTouchEmulationEnabled setVirtualTimePolicy setLocaleOverride setTimezoneOverride setVisibleSize setDisabledImageTypes setDataSaverOverride setHardwareConcurrencyOverride setCPUPerformanceOverride setUserAgentOverride setAutomationOverride setSmallViewportHeightDifferenceOverride getScreenInfos addScreen updateScreen removeScreen setPrimaryScreen",
  EventBreakpoints: "setInstrumentationBreakpoint removeInstrumentationBreakpoint disable",
  FedCm: "enable disable selectAccount clickDialogButton openUrl dismissDialog resetCooldown",
  Fetch: "disable enable failRequest fulfillRequest continueWithAuth continueResponse getResponseBody takeResponseBodyAsStream",
  FileSystem: "getDirectory",
  FindInPage: "findFirst findNext findPrev stop",
  HeadlessExperimental: "beginFrame disable enable",
  HeapProfiler: "addInspectedHeapObject collectGarbage disable enable getHeapObjectId getObjectByHeapObjectId getSamplingProfile startSampling startTrackingHeapObjects stopSampling stopTrackingHeapObjects takeHeapSnapshot",
  IndexedDB: "clearObjectStore deleteDatabase deleteObjectStoreEntries disable enable requestData getMetadata requestDatabase requestDatabaseNames",
  Input: "dispatchKeyEvent insertText imeSetComposition dispatchMouseEvent dispatchTouchEvent cancelDragging emulateTouchFromMouseEvent setIgnoreInputEvents setInterceptDrags synthesizePinchGesture synthesizeScrollGesture synthesizeTapGesture",
  Inspector: "disable enable",
  IO: "close read resolveBlob",
  LayerTree: "compositingReasons disable enable loadSnapshot makeSnapshot profileSnapshot releaseSnapshot replaySnapshot snapshotCommandLog",
  Log: "clear disable enable startViolationsReport stopViolationsReport",
  Media: "enable disable",
  Memory: "getDOMCounters getDOMCountersForLeakDetection prepareForLeakDetection forciblyPurgeJavaScriptMemory setPressureNotificationsSuppressed simulatePressureNotification startSampling stopSampling getAllTimeSamplingProfile getBrowserSamplingProfile getSamplingProfile",
  Network: "canClearBrowserCache canClearBrowserCookies canEmulateNetworkConditions clearBrowserCache clearBrowserCookies deleteCookies disable emulateNetworkConditions emulateNetworkConditionsByRule overrideNetworkState enable configureDurableMessages getAllCookies getCertificate getCookies getResponseBody getRequestPostData replayXHR searchInResponseBody setBlockedURLs setBypassServiceWorker setCacheDisabled setCookie setCookies setExtraHTTPHeaders setAttachDebugStack setUserAgentOverride streamResourceContent getSecurityIsolationStatus enableReportingApi enableDeviceBoundSessions deleteDeviceBoundSession fetchSchemefulSite setCookieControls",
  Overlay: "disable enable getHighlightObjectForTest getGridHighlightObjectsForTest getSourceOrderHighlightObjectForTest hideHighlight highlightFrame highlightNode highlightQuad highlightRect highlightSourceOrder setInspectMode setShowAdHighlights setPausedInDebuggerMessage setShowDebugBorders setShowFPSCounter setShowGridOverlays setShowFlexOverlays setShowScrollSnapOverlays setShowContainerQueryOverlays setShowInspectedElementAnchor setShowPaintRects setShowLayoutShiftRegions setShowScrollBottleneckRects setShowHitTestBorders setShowWebVitals setShowViewportSizeOnResize setShowHinge setShowDisplayCutout setShowIsolatedElements setShowWindowControlsOverlay",
  Page: "addScriptToEvaluateOnLoad addScriptToEvaluateOnNewDocument bringToFront captureScreenshot captureSnapshot clearDeviceMetricsOverride clearDeviceOrientationOverride clearGeolocationOverride createIsolatedWorld deleteCookie disable enable getAppManifest getInstallabilityErrors getManifestIcons getAppId getSubApps getSiblingSubApps getAdScriptAncestry getFrameTree getLayoutMetrics getNavigationHistory resetNavigationHistory getResourceContent getResourceTree handleJavaScriptDialog navigateToHistoryEntry printToPDF reload removeScriptToEvaluateOnLoad removeScriptToEvaluateOnNewDocument screencastFrameAck searchInResource setAdBlockingEnabled setBypassCSP getPermissionsPolicyState getOriginTrials setDeviceMetricsOverride setDeviceOrientationOverride setFontFamilies setFontSizes setDocumentContent setGeolocationOverride setLifecycleEventsEnabled setTouchEmulationEnabled startScreencast stopLoading crash close setWebLifecycleState stopScreencast produceCompilationCache addCompilationCache clearCompilationCache setSPCTransactionMode setRPHRegistrationMode generateTestReport waitForDebugger setInterceptFileChooserDialog setPrerenderingAllowed getAnnotatedPageContent",
  Performance: "disable enable setTimeDomain getMetrics",
  PerformanceTimeline: "enable",
  Preload: "enable disable",
  Profiler: "disable enable getBestEffortCoverage setSamplingInterval start startPreciseCoverage stop stopPreciseCoverage takePreciseCoverage",
  Runtime: "awaitPromise callFunctionOn compileScript disable discardConsoleEntries enable evaluate getIsolateId getHeapUsage getProperties globalLexicalScopeNames queryObjects releaseObject releaseObjectGroup runIfWaitingForDebugger runScript setAsyncCallStackDepth setCustomObjectFormatterEnabled setMaxCallStackSizeToCapture terminateExecution addBinding removeBinding getExceptionDetails",
  Schema: "getDomains",
  Security: "disable enable setIgnoreCertificateErrors handleCertificateError setOverrideCertificateErrors",
  ServiceWorker: "deliverPushMessage disable dispatchSyncEvent dispatchPeriodicSyncEvent enable setForceUpdateOnPageLoad skipWaiting startWorker stopAllWorkers stopWorker unregister updateRegistration",
  SmartCardEmulation: "enable disable reportEstablishContextResult reportReleaseContextResult reportListReadersResult reportGetStatusChangeResult reportBeginTransactionResult reportPlainResult reportConnectResult reportDataResult reportStatusResult reportError",
  Storage: "getStorageKeyForFrame getStorageKey clearDataForOrigin clearDataForStorageKey getCookies setCookies clearCookies getUsageAndQuota overrideQuotaForOrigin trackCacheStorageForOrigin trackCacheStorageForStorageKey trackIndexedDBForOrigin trackIndexedDBForStorageKey untrackCacheStorageForOrigin untrackCacheStorageForStorageKey untrackIndexedDBForOrigin untrackIndexedDBForStorageKey getTrustTokens clearTrustTokens getPrivateVerificationTokens getPrivateVerificationTokensIssuerConfigs clearPrivateVerificationTokens deletePrivateVerificationToken setPrivateVerificationTokensTracking setStorageBucketTracking deleteStorageBucket runBounceTrackingMitigations",
  SystemInfo: "getInfo getFeatureState getProcessInfo",
  Target: "activateTarget attachToBrowserTarget closeTarget getBrowserContexts detachFromTarget disposeBrowserContext getTargetInfo getTargets setDiscoverTargets",
  Tracing: "end getCategories getTrackEventDescriptor recordClockSyncMarker requestMemoryDump",
  WebAudio: "enable disable getRealtimeData",
  WebAuthn: "enable disable addVirtualAuthenticator setResponseOverrideBits removeVirtualAuthenticator addCredential getCredential getCredentials removeCredential clearCredentials setUserVerified setAutomaticPresenceSimulation setCredentialProperties",
  WebMCP: "enable disable invokeTool cancelInvocation",
};

/** Methods allowed only after a check of their params. */
export const CHECKED: Readonly<Record<string, { check: CheckName; why: string }>> = {
  "Page.navigate": { check: "url", why: "loads a URL: only http(s), about:, data: and blob: (file:// would read the container)" },
  "Target.createTarget": { check: "url", why: "opens a URL in a new page, as Page.navigate" },
  "Network.loadNetworkResource": { check: "url", why: "fetches a URL from the browser, as Page.navigate" },
  "Fetch.continueRequest": { check: "url", why: "may rewrite a paused request's URL, as Page.navigate" },
  "Browser.setDownloadBehavior": { check: "downloadPath", why: "downloadPath is pinned to the session's downloads dir (never the profile or elsewhere); eventsEnabled is forced on when downloads are allowed, so a finished download is stored as an artifact at once (a client that did not ask for the events does not receive them)" },
  "Page.setDownloadBehavior": { check: "downloadPath", why: "as Browser.setDownloadBehavior" },
  "Target.createBrowserContext": { check: "noContextProxy", why: "proxyServer/proxyBypassList refused: a context proxy (direct://) would bypass the session's egress proxy" },
  "Target.setAutoAttach": { check: "flatSession", why: "flatten: true required: a non-flat session's commands travel inside Target.sendMessageToTarget, unseen by this policy" },
  "Target.attachToTarget": { check: "flatSession", why: "flatten: true required, as Target.setAutoAttach" },
  "DOM.setFileInputFiles": { check: "uploadFiles", why: "files only from the session's uploads dir: any other path hands container files to page script" },
  "Page.handleFileChooser": { check: "uploadFiles", why: "files only from the session's uploads dir (older Chromium)" },
  "Input.dispatchDragEvent": { check: "dragFiles", why: "data.files only from the session's uploads dir" },
  "Tracing.start": { check: "tracing", why: "Chrome backend only: perfettoConfig and the system backend can write files" },
};

/** Refused methods, or whole domains (a bare domain name), with the reason. */
export const REFUSED: Readonly<Record<string, string>> = {
  "Target.sendMessageToTarget": "carries a nested CDP message to a non-flat session, around this policy; use flat sessions (sessionId)",
  "Target.exposeDevToolsProtocol": "gives page script its own CDP channel, around the gateway",
  "Target.openDevTools": "opens a DevTools frontend with its own CDP channel",
  "Target.getDevToolsTarget": "only serves DevTools windows, which are refused",
  "Target.setRemoteLocations": "makes the browser connect to other hosts' DevTools ports",
  "Target.autoAttachRelated": "attaches without the flatten guarantee; use Target.setAutoAttach with flatten: true",
  "Browser.executeBrowserCommand": "runs browser UI commands, not page automation",
  "Browser.getBrowserCommandLine": "discloses the browser's command line (relay address, flags)",
  "Page.startScreenRecording": "records to an output this policy cannot bound; use Page.startScreencast",
  "Page.stopScreenRecording": "pairs with Page.startScreenRecording",
  Tethering: "opens listening ports in the browser's network namespace",
  Extensions: "loadUnpacked loads code from a container path; sessions have no extensions",
  PWA: "install and launchFilesInApp take container paths and install apps",
  Cast: "casts to network sinks around the egress proxy; sessions have no media router",
};

export const DOMAIN_PREFIX = "BrowserGrid.";

const RULES = new Map<string, Rule>();
for (const [domain, names] of Object.entries(ALLOWED)) for (const name of names.split(" ")) RULES.set(`${domain}.${name}`, { kind: "allow" });
for (const [method, c] of Object.entries(CHECKED)) RULES.set(method, { kind: "check", ...c });
for (const [method, why] of Object.entries(REFUSED)) if (method.includes(".")) RULES.set(method, { kind: "refuse", why });

/** The rule for a CDP method; undefined when it is not classified (then it is refused). */
export function ruleFor(method: string): Rule | undefined {
  const rule = RULES.get(method);
  if (rule !== undefined) return rule;
  const dot = method.indexOf(".");
  const domain = dot > 0 ? method.slice(0, dot) : "";
  return Object.hasOwn(REFUSED, domain) ? { kind: "refuse", why: REFUSED[domain]! } : undefined;
}

/** Samples the tests use: one method of each kind, and names no table may classify. */
export const POLICY_SAMPLES = {
  allowed: ["Runtime.evaluate", "Page.enable", "Fetch.fulfillRequest", "Target.setDiscoverTargets"],
  checked: Object.keys(CHECKED),
  refused: ["Target.sendMessageToTarget", "Target.exposeDevToolsProtocol", "Tethering.bind", "Extensions.loadUnpacked", "PWA.install"],
  unclassified: ["Foo.bar", "Page.newThing", "Runtime", "", "Tethering", "page.navigate", "constructor", "__proto__.x"],
} as const;
