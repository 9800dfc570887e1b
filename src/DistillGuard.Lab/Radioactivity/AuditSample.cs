namespace DistillGuard.Lab.Radioactivity;

/// <summary>One probe sent to a suspect model and the answer it gave.</summary>
/// <param name="Prompt">The probe text; its windows are never scored (a model that copies the prompt must not look radioactive).</param>
/// <param name="Answer">The suspect's answer.</param>
public sealed record AuditSample(string Prompt, string Answer);
