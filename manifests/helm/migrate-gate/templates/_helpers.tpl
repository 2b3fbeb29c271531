{{/* Object names: the release name when it already says migrate-gate, else <release>-migrate-gate. */}}
{{- define "migrate-gate.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* Labels of every object. */}}
{{- define "migrate-gate.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/part-of: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/* The gate's pods. app.kubernetes.io/name also keeps them away from their own webhook. */}}
{{- define "migrate-gate.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/component: webhook
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{/* repository@digest, else repository:tag (tag defaults to the appVersion). */}}
{{- define "migrate-gate.image" -}}
{{- $image := index . 0 -}}
{{- $root := index . 1 -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $image.repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $image.repository (default $root.Chart.AppVersion $image.tag) -}}
{{- end -}}
{{- end -}}

{{- define "migrate-gate.selfManagedTls" -}}
{{- if eq .Values.tls.mode "self-managed" }}true{{ end -}}
{{- end -}}

{{/* Secret holding tls.crt and tls.key when the gate reads its certificate from files. */}}
{{- define "migrate-gate.tlsSecretName" -}}
{{- if eq .Values.tls.mode "cert-manager" -}}
{{- printf "%s-tls" (include "migrate-gate.fullname" .) -}}
{{- else -}}
{{- required "tls.secret.name is required with tls.mode=secret: a kubernetes.io/tls Secret in the release namespace" .Values.tls.secret.name -}}
{{- end -}}
{{- end -}}

{{/* Namespaces no entry ever selects. */}}
{{- define "migrate-gate.excludedNamespaces" -}}
{{- $names := list "kube-system" "kube-public" "kube-node-lease" .Release.Namespace -}}
{{- range .Values.excludedNamespaces }}{{ $names = append $names . }}{{ end -}}
{{- toJson (uniq $names) -}}
{{- end -}}

{{/* The UID of the gate's pods and of the waiters it injects; empty: the platform assigns it. */}}
{{- define "migrate-gate.runAsUser" -}}
{{- if not (kindIs "invalid" .Values.runAsUser) -}}
{{- int64 .Values.runAsUser -}}
{{- end -}}
{{- end -}}

{{/*
The pod spec of a one-shot pod running the gate's image as one of its subcommands (the uninstall
hook's Job, the helm test pod): PodSecurity "restricted", the chart's UID and scheduling fields.
Called with (dict "root" $ "serviceAccount" NAME "container" NAME "args" LIST).
*/}}
{{- define "migrate-gate.toolPodSpec" -}}
{{- $root := .root -}}
serviceAccountName: {{ .serviceAccount }}
automountServiceAccountToken: true
enableServiceLinks: false
restartPolicy: Never
{{- with $root.Values.imagePullSecrets }}
imagePullSecrets:
  {{- toYaml . | nindent 2 }}
{{- end }}
securityContext:
  runAsNonRoot: true
  {{- with include "migrate-gate.runAsUser" $root }}
  runAsUser: {{ . }}
  runAsGroup: {{ . }}
  {{- end }}
  seccompProfile:
    type: RuntimeDefault
{{- with $root.Values.nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $root.Values.tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
containers:
  - name: {{ .container }}
    image: {{ include "migrate-gate.image" (list $root.Values.image $root) }}
    imagePullPolicy: {{ $root.Values.image.pullPolicy }}
    args: [{{ join ", " .args }}]
    resources:
      requests:
        cpu: 50m
        memory: 128Mi
      limits:
        cpu: "1"
        memory: 256Mi
    securityContext:
      allowPrivilegeEscalation: false
      readOnlyRootFilesystem: true
      runAsNonRoot: true
      capabilities:
        drop: [ALL]
      seccompProfile:
        type: RuntimeDefault
    volumeMounts:
      - name: tmp
        mountPath: /tmp
volumes:
  # The root filesystem is read-only; the JVM still wants a scratch /tmp.
  - name: tmp
    emptyDir:
      sizeLimit: 64Mi
{{- end -}}
