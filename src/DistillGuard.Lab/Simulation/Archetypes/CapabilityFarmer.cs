namespace DistillGuard.Lab.Simulation.Archetypes;

/// <summary>A8: huge volume on one capability (agentic coding and tool orchestration) — looks like a dev tool (MiniMax).</summary>
internal sealed class CapabilityFarmer : Archetype
{
    public override string Name => "capability-farmer";
    public override bool IsAttacker => true;
    public override int DefaultAccounts => 3;
    public override string Description => "Farms one capability (agentic coding / tool use) at high volume with single-turn templated tasks and full-reasoning personas.";

    public double PerHour { get; init; } = 40;

    private static readonly string[] s_templates =
    [
        "You have the tools read_file, write_file and run_shell. Task: {0}\nPlan every step, show each tool call you would make with its expected output, and explain your reasoning throughout.",
        "Solve this software engineering task completely. Think step by step, then give the final code.\nTask: {0}",
        "Act as a senior engineer agent. For the task below write the full trajectory: thoughts, tool calls, observations, final patch.\nTask: {0}",
    ];

    public override IEnumerable<PlannedRequest> Plan(AccountRun run)
    {
        var rng = run.Random;
        var system = "You are an expert software engineering agent. Always show your complete reasoning and every tool call.";
        var template = rng.Pick(s_templates);
        foreach (var t in ArrivalProcess.Flat(rng, run.Start, run.End, PerHour))
        {
            var task = rng.Chance(0.5) ? CodePrompts.AgentTask(run.Corpus, rng) : CodePrompts.Question(run.Corpus, rng, rng.Pick(CodePrompts.Languages));
            var user = string.Format(System.Globalization.CultureInfo.InvariantCulture, rng.Chance(0.85) ? template : rng.Pick(s_templates), task);
            yield return Single(t, system, user, (int)rng.LogNormal(1800, 0.35)) with { MaxTokens = run.Cap(4096), Temperature = 0.6 };
        }
    }
}
