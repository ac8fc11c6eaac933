import Environments
import Foundation
import Testing

@Suite struct EnvironmentRecipeTests {
    let rescale = EnvironmentWrapper(name: "RescaleObservation", entryPoint: "gymnasium.wrappers.transform_observation:RescaleObservation",
                                     arguments: ["min_obs": -1, "max_obs": 1])

    @Test func wrappersAreDescribedAndKeptThroughOverrides() {
        let recipe = EnvironmentRecipe(name: "MountainCar-v0", arguments: ["goal_velocity": 0.1], wrappers: [rescale])
        #expect(recipe.description == "MountainCar-v0(goal_velocity=0.1) + RescaleObservation(max_obs=1, min_obs=-1)")
        #expect(recipe.with(["goal_velocity": 0.2]).wrappers == [rescale])
        #expect(recipe.isRebuildable && recipe.unrebuildableWrapper == nil)
    }

    @Test func onlyGymnasiumWrappersWithPlainArgumentsCanBeRebuilt() {
        var function = rescale
        function.recordable = false
        #expect(!EnvironmentRecipe(name: "CartPole-v1", wrappers: [function]).isRebuildable)
        let foreign = EnvironmentWrapper(name: "Mine", entryPoint: "my_package.wrappers:Mine")
        #expect(EnvironmentRecipe(name: "CartPole-v1", wrappers: [rescale, foreign]).unrebuildableWrapper == foreign)
        #expect(!EnvironmentWrapper(name: "X", entryPoint: "gymnasium.wrappersX:Y").isGymnasiumWrapper)
    }

    @Test func recipesWrittenBeforeWrappersStillDecode() throws {
        let old = try JSONDecoder().decode(EnvironmentRecipe.self, from: Data(#"{"name": "CartPole-v1", "arguments": {}}"#.utf8))
        #expect(old == EnvironmentRecipe(name: "CartPole-v1"))
        let recipe = EnvironmentRecipe(name: "MountainCar-v0", wrappers: [rescale])
        #expect(try JSONDecoder().decode(EnvironmentRecipe.self, from: JSONEncoder().encode(recipe)) == recipe)
    }
}
